"""srsRAN Project JSON metrics (``metrics: enable_json``; UDP 55555, WebSocket, or a JSON-lines log).

Each line is one report with a ``timestamp`` (UTC, no zone suffix; an epoch float before 24.10) and one
payload: ``cells`` (scheduler: ``cell_metrics`` and ``ue_list``), ``app_resource_usage`` (CPU, memory and
RAPL package power), and layer reports (``du``, ``du_low``, ``cu-up``, ``rlc_metrics``…). Scheduler and
resource reports become records; layer reports are skipped and listed once in the problems.

Units are as the generator really writes them (``srsran`` unit system): ``dl_brate``/``ul_brate`` are
bit/s (``dl_brate_kbps * 1e3``) although the docs say kbit/s. They map to ``DRB.UEThpDl``/``Ul`` per UE
(sub-counter ``RNTI=<n>``) and, as the cell value, their mean over the UEs in the report. srsRAN's rate
is the UE's MAC rate over the whole report, idle time included, so it is a lower bound of the TS 28.552
UE throughput (which excludes idle time). ``RRC.ConnMean`` is the number of UEs in the report. Cells
are named by PCI. The report period is not in the payload: it is the spacing of consecutive reports
(or ``interval_s`` when given).
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from typing import Any

from collectors.ran import times
from collectors.ran.jsondocs import JsonDoc, number
from collectors.ran.records import Problems, Tables, ValueBuffer

PAYLOADS = frozenset(
    {"cells", "ue_list", "app_resource_usage", "du", "du_low", "cu-up", "cu-cp", "rlc_metrics", "buffer_pool", "ru"}
)
_UE_IDENTITY = frozenset({"pci", "rnti", "ue"})
_RENAMED = {"dl_brate": "DRB.UEThpDl", "ul_brate": "DRB.UEThpUl"}
DEFAULT_INTERVAL_S = 1.0


def is_srsran(value: Any) -> bool:
    return isinstance(value, dict) and "timestamp" in value and any(k in PAYLOADS for k in value)


def parse_metrics(
    docs: list[JsonDoc],
    tables: Tables,
    problems: Problems,
    buffer: ValueBuffer,
    *,
    managed_element: str,
    interval_s: float | None,
) -> None:
    stamped = []
    for doc in docs:
        if not is_srsran(doc.value):
            problems.add("not an srsRAN metrics report (no timestamp or known payload); skipped", line=doc.line)
            continue
        ts = _timestamp(doc.value["timestamp"])
        if ts is None:
            problems.add(f"timestamp {doc.value['timestamp']!r} is not a time; report skipped", line=doc.line)
            continue
        stamped.append((ts, doc))
    interval = interval_s or _spacing([ts for ts, doc in stamped if "cells" in doc.value or "ue_list" in doc.value])
    if interval is None:
        interval = DEFAULT_INTERVAL_S
        problems.once("srs-interval", f"report period unknown (one report); assumed {interval:g} s (pass interval_s)")
    skipped: set[str] = set()
    for ts, doc in stamped:
        period = tables.period(ts - dt.timedelta(seconds=interval), ts)
        report = doc.value
        if isinstance(report.get("cells"), list):
            for position, cell in enumerate(report["cells"]):
                _cell(cell, position, period, tables, buffer, managed_element)
        elif isinstance(report.get("ue_list"), list):  # before 24.10: {"ue_list": [{"ue_container": {...}}]}
            ues = [u.get("ue_container", u) for u in report["ue_list"] if isinstance(u, dict)]
            for pci in sorted({str(u.get("pci", 0)) for u in ues}):
                _ues([u for u in ues if str(u.get("pci", 0)) == pci], pci, period, tables, buffer, managed_element)
        elif isinstance(report.get("app_resource_usage"), dict):
            obj = tables.obj(managed_element, "app_resource_usage")
            _scalars(report["app_resource_usage"], obj, period, tables, buffer, sub_counter=None)
        else:
            skipped.update(k for k in report if k in PAYLOADS)
    if skipped:
        problems.add(f"srsRAN {', '.join(sorted(skipped))} reports are not mapped to counters; skipped")


def _cell(
    cell: dict[str, Any], position: int, period: int, tables: Tables, buffer: ValueBuffer, managed_element: str
) -> None:
    metrics = cell.get("cell_metrics") or {}
    ue_list = [u for u in cell.get("ue_list") or [] if isinstance(u, dict)]
    pci = metrics.get("pci", ue_list[0].get("pci") if ue_list else position)
    obj = tables.obj(managed_element, f"NRCellDU={pci}")
    _scalars({k: v for k, v in metrics.items() if k != "pci"}, obj, period, tables, buffer, sub_counter=None)
    _ues(ue_list, str(pci), period, tables, buffer, managed_element)


def _ues(
    ue_list: list[dict[str, Any]], pci: str, period: int, tables: Tables, buffer: ValueBuffer, managed_element: str
) -> None:
    obj = tables.obj(managed_element, f"NRCellDU={pci}")
    rates: dict[str, list[float]] = {"DRB.UEThpDl": [], "DRB.UEThpUl": []}
    for ue in ue_list:
        sub = f"RNTI={ue.get('rnti')}"
        fields = {k: v for k, v in ue.items() if k not in _UE_IDENTITY}
        _scalars(fields, obj, period, tables, buffer, sub_counter=sub)
        for key, counter in _RENAMED.items():
            rate = number(ue.get(key))
            if rate is not None:
                rates[counter].append(rate)
    buffer.add(period, obj, tables.counter("RRC.ConnMean"), float(len(ue_list)))
    for counter, values in rates.items():
        if values:
            buffer.add(period, obj, tables.counter(counter), sum(values) / len(values))


def _scalars(
    fields: dict[str, Any], obj: int, period: int, tables: Tables, buffer: ValueBuffer, *, sub_counter: str | None
) -> None:
    for key, raw in fields.items():
        name = _RENAMED.get(key, key)
        if isinstance(raw, list):
            counter = tables.counter(name, sub_counter, split=False)
            for index, item in enumerate(raw):
                value = number(item)
                if value is not None:
                    buffer.add(period, obj, counter, value, index=index)
            continue
        value = number(raw) if not isinstance(raw, str) else None
        if value is not None:
            buffer.add(period, obj, tables.counter(name, sub_counter, split=False), value)


def _timestamp(raw: Any) -> dt.datetime | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return dt.datetime.fromtimestamp(float(raw), dt.UTC)
    if isinstance(raw, str):
        try:
            return times.parse_datetime(raw)[0]  # srsRAN writes UTC without a zone suffix
        except ValueError:
            return None
    return None


def _spacing(stamps: list[dt.datetime]) -> float | None:
    ordered = sorted(set(stamps))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    return statistics.median(gaps) if gaps else None

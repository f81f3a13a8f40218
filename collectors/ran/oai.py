"""OpenAirInterface gNB ``o1 stats`` (telnet server, ``--telnetsrv.shrmod o1``) JSON.

``O1-Operational`` holds ``load`` (100 × used/total DL PRBs since the previous call), ``num-ues`` and
``ues-thp`` (per-RNTI RLC throughput, kbit/s). They map to TS 28.552 names read with the ``oai-o1`` unit
system: ``load`` → ``RRU.PrbTotDl`` (%), ``num-ues`` → ``RRC.ConnMean`` (a sample of connected UEs),
``ues-thp`` → ``DRB.UEThpDl``/``DRB.UEThpUl`` per UE (sub-counter ``RNTI=<n>``) and their mean for the
cell. The output carries no timestamp and no cell id: the period ends when the poller observed it (or
at the file's modification time) and lasts the poll interval; the cell is named by its PCI (``nRPCI``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from collectors.ran.jsondocs import JsonDoc, number
from collectors.ran.records import Problems, Tables, ValueBuffer


def is_oai(value: Any) -> bool:
    return isinstance(value, dict) and ("O1-Operational" in value or "o1-config" in value)


def parse_o1(
    docs: list[JsonDoc],
    tables: Tables,
    problems: Problems,
    buffer: ValueBuffer,
    *,
    observed_at: dt.datetime,
    interval_s: float,
    fallback_name: str,
) -> None:
    start = observed_at - dt.timedelta(seconds=interval_s)
    period = tables.period(start, observed_at)
    for doc in docs:
        stats = doc.value
        if not is_oai(stats):
            problems.add("not an OAI o1 stats document; skipped", line=doc.line)
            continue
        config = stats.get("o1-config") or {}
        device = config.get("device") or {}
        cell_cfg = config.get("NRCELLDU") or {}
        gnb = str(device.get("gnbName") or "").strip()
        if not gnb:
            problems.once("oai-name", f"o1-config names no gnbName; using {fallback_name!r}", line=doc.line)
            gnb = fallback_name
        pci = number(cell_cfg.get("nrcelldu3gpp:nRPCI"))
        cell = str(int(pci)) if pci is not None else "0"
        if pci is None:
            problems.once("oai-pci", "o1-config has no nrcelldu3gpp:nRPCI; the cell is named '0'", line=doc.line)
        obj = tables.obj(gnb, f"NRCellDU={cell}")
        operational = stats.get("O1-Operational")
        if not isinstance(operational, dict):
            problems.add("no O1-Operational section (the gNB may not be running); no counters", line=doc.line)
            continue
        load = number(operational.get("load"))
        if load is not None:
            buffer.add(period, obj, tables.counter("RRU.PrbTotDl"), load)
        ues = number(operational.get("num-ues"))
        if ues is not None:
            buffer.add(period, obj, tables.counter("RRC.ConnMean"), ues)
        _throughput(operational.get("ues-thp"), period, obj, tables, buffer, problems, doc.line)


def _throughput(
    entries: Any, period: int, obj: int, tables: Tables, buffer: ValueBuffer, problems: Problems, line: int
) -> None:
    if not isinstance(entries, list):
        return
    per_direction: dict[str, list[float]] = {"DRB.UEThpDl": [], "DRB.UEThpUl": []}
    for entry in entries:
        rnti = entry.get("rnti") if isinstance(entry, dict) else None
        if rnti is None:
            problems.add("ues-thp entry without rnti; skipped", line=line)
            continue
        for key, counter in (("dl", "DRB.UEThpDl"), ("ul", "DRB.UEThpUl")):
            value = number(entry.get(key))
            if value is None:
                continue
            per_direction[counter].append(value)
            buffer.add(period, obj, tables.counter(counter, f"RNTI={rnti}"), value)
    for counter, values in per_direction.items():
        if values:
            buffer.add(period, obj, tables.counter(counter), sum(values) / len(values))

"""Health rows from scrapes: XID events (``gpu_health``) and one row per scrape attempt (``collector_health``).

dcgm-exporter exposes XIDs as *levels*, not events: ``DCGM_FI_DEV_XID_ERRORS`` holds the last XID seen (it
never goes back to 0 until the driver reloads, NVIDIA/dcgm-exporter#190) and ``DCGM_EXP_XID_ERRORS_COUNT``
counts each XID in a sliding window (default 300 s). An event is therefore a *change*: a new last-XID value,
or a window count that went up. The tracker keeps the last value per GPU in memory; after a restart the
standing last XID is reported once more, because the scraper cannot tell whether it is new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from collectors.gpu.dcgm.layout import XidObservation
from collectors.gpu.dcgm.rows import ts_us

#: XIDs worth paging for: the allow-list NVIDIA's exporters' users alert on (utkuozdemir/nvidia_gpu_exporter
#: docs: 48 DBE, 62 internal micro-controller halt, 64 ECC page retirement failure, 74 NVLink error,
#: 79 fallen off the bus, 95 uncontained ECC, 119/120 GSP errors). Others are warnings (often application
#: faults such as XID 13/31/43).
CRITICAL_XIDS = frozenset({48, 62, 64, 74, 79, 95, 119, 120})


def xid_severity(code: int) -> str:
    return "critical" if code in CRITICAL_XIDS else "warning"


class XidTracker:
    """Change detection for XID readings, per (node, GPU, MIG instance[, XID])."""

    def __init__(self) -> None:
        self._last: dict[tuple[Any, ...], float] = {}

    def events(
        self,
        observations: Iterable[XidObservation],
        *,
        ts: dt.datetime,
        site: str,
        source: str,
        producer: str,
    ) -> list[dict[str, Any]]:
        """``gpu_health`` rows (dicts with ``ts_us``) for the observations that are news."""
        stamp = ts_us(ts)
        rows: list[dict[str, Any]] = []
        for obs in observations:
            if obs.event == "xid":
                key: tuple[Any, ...] = (obs.node, obs.gpu_uuid, obs.gpu_instance_id, "xid")
                previous = self._last.get(key)
                self._last[key] = obs.value
                if obs.value == 0 or obs.value == previous:
                    continue
                message = obs.message or f"XID {obs.code}"
            else:
                key = (obs.node, obs.gpu_uuid, obs.gpu_instance_id, "xid_window", obs.code)
                previous = self._last.get(key, 0.0)
                self._last[key] = obs.value
                if obs.value <= previous:
                    continue
                window = f" in the exporter's {obs.window_ms / 1000:g} s window" if obs.window_ms else ""
                message = f"{obs.value - previous:g} new XID {obs.code} error(s){window}"
            rows.append(
                {
                    "ts_us": stamp,
                    "site": site,
                    "node": obs.node,
                    "gpu_uuid": obs.gpu_uuid,
                    "gpu_instance_id": obs.gpu_instance_id,
                    "event": obs.event,
                    "code": obs.code,
                    "severity": xid_severity(obs.code),
                    "message": message,
                    "source": source,
                    "producer": producer,
                }
            )
        return rows


def scrape_health_row(
    *,
    ts: dt.datetime,
    site: str,
    source: str,
    producer: str,
    target: str,
    ok: bool,
    duration_s: float,
    samples: int,
    error: str | None,
) -> dict[str, Any]:
    """One ``collector_health`` row (dict with ``ts_us``) for one scrape attempt of one target."""
    return {
        "ts_us": ts_us(ts),
        "site": site,
        "source": source,
        "producer": producer,
        "target": target,
        "ok": ok,
        "duration_s": duration_s,
        "samples": samples,
        "error": error,
    }

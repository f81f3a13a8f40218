"""The agent's own health: how long a sample took, which NVML errors it met, what each field cost NVML.

They land as ``collector_health`` rows, so a dashboard can show a node whose agent is slow or failing next to
the GPUs it reports. Per sample: one row for the node (ok, duration, rows). Per landed batch (≤ 1 minute):
one row per field with NVML's own ``latencyUsec`` averaged (what reading that field cost the driver), and one
row per NVML error code with its count. Aggregating per batch keeps the row count bounded however many
fields and errors there are.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from collectors.gpu.nvml.errors import error_name

FIELD_TARGET = "field/"
ERROR_TARGET = "nvml_error/"


@dataclass
class SelfMetrics:
    """Accumulates error counts and field latencies until :meth:`drain` turns them into rows."""

    errors: Counter[int] = field(default_factory=Counter)
    latency_sum_us: dict[str, float] = field(default_factory=dict)
    latency_count: Counter[str] = field(default_factory=Counter)

    def error(self, code: int) -> None:
        self.errors[code] += 1

    def latency(self, column: str, latency_us: int) -> None:
        """Record NVML's reported cost of one field read (0 means NVML did not report it: ignored)."""
        if latency_us > 0:
            self.latency_sum_us[column] = self.latency_sum_us.get(column, 0.0) + latency_us
            self.latency_count[column] += 1

    def drain(self, ts: dt.datetime, site: str, producer: str) -> list[dict[str, Any]]:
        """Rows for everything recorded since the last drain, stamped ``ts`` (the batch's first sample)."""
        rows: list[dict[str, Any]] = []
        for column in sorted(self.latency_sum_us):
            n = self.latency_count[column]
            rows.append(
                _row(ts, site, producer, FIELD_TARGET + column, True, self.latency_sum_us[column] / n / 1e6, n, None)
            )
        for code in sorted(self.errors):
            name = error_name(code)
            rows.append(_row(ts, site, producer, ERROR_TARGET + name, False, None, self.errors[code], name))
        self.errors.clear()
        self.latency_sum_us.clear()
        self.latency_count.clear()
        return rows


def sample_row(
    ts: dt.datetime, site: str, producer: str, node: str, duration_s: float, rows: int, problems: list[str]
) -> dict[str, Any]:
    """The per-sample row: did every GPU answer, how long the pass took, how many rows it produced."""
    return _row(ts, site, producer, node, not problems, duration_s, rows, "; ".join(problems) or None)


def _row(
    ts: dt.datetime,
    site: str,
    producer: str,
    target: str,
    ok: bool,
    duration_s: float | None,
    samples: int | None,
    error: str | None,
) -> dict[str, Any]:
    return {
        "ts": ts,
        "site": site,
        "source": "nvml",
        "producer": producer,
        "target": target,
        "ok": ok,
        "duration_s": duration_s,
        "samples": samples,
        "error": error,
    }

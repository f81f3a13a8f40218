"""Cumulative NVML counters turned into per-second rates between two samples.

PCIe (fields 197/198, bytes) and NVLink (fields 138/139, KiB) throughput are exposed by NVML as running
counters. A rate between consecutive samples is what the blocking ``nvmlDeviceGetPcieThroughput`` would
measure, averaged over the whole interval instead of a 20 ms window, at no extra cost per sample.
"""

from __future__ import annotations

from collections.abc import Hashable


class CounterRates:
    """Remembers the last reading of each counter and answers Δvalue / Δt."""

    def __init__(self) -> None:
        self._last: dict[Hashable, tuple[float, float]] = {}

    def rate(self, key: Hashable, value: float, t_s: float) -> float | None:
        """The rate since the previous reading of ``key``; None on the first reading, when time did not
        advance, or when the counter went backwards (driver reload, GPU reset, wrap)."""
        last = self._last.get(key)
        self._last[key] = (value, t_s)
        if last is None:
            return None
        dv = value - last[0]
        dt = t_s - last[1]
        if dt <= 0 or dv < 0:
            return None
        return dv / dt

    def clear(self) -> None:
        """Forget every counter (after NVML is re-initialised the counters may have restarted)."""
        self._last.clear()

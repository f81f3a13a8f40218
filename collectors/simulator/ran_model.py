"""Cell traffic with a diurnal curve, and the TS 28.552 counters it produces per measurement period.

Load follows local time: quiet at night, a lunchtime bump and an evening peak, scaled per cell, with a little
period-to-period noise. The same load drives the RAN workload's GPU utilisation, which is what makes the
AI-RAN view (cell load against RAN GPU load) line up.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from collectors.simulator.world import Cell, Site

PRB_AVAILABLE = 273  # 100 MHz carrier at 30 kHz SCS
CELL_PEAK_MBPS = 1100.0
ACTIVE_UE_PEAK = 60.0


def local_hours(epoch_s: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """Hour of day (fractional) in the site's local time for each UTC epoch second."""
    hours = np.empty(epoch_s.shape, dtype=np.float64)
    # Offsets change at most twice a year: compute them per distinct UTC hour, not per sample.
    hour_keys = epoch_s // 3600
    for key in np.unique(hour_keys):
        offset = dt.datetime.fromtimestamp(int(key) * 3600, tz).utcoffset()
        off_s = offset.total_seconds() if offset else 0.0
        sel = hour_keys == key
        hours[sel] = ((epoch_s[sel] + off_s) % 86400) / 3600.0
    return hours


def diurnal(hour: np.ndarray) -> np.ndarray:
    """Relative mobile traffic by local hour: trough ~04:00, bump ~12:30, peak ~20:30 (0.1 … 1.0)."""

    def bump(center: float, width: float) -> np.ndarray:
        d = np.minimum(np.abs(hour - center), 24 - np.abs(hour - center))
        return np.asarray(np.exp(-0.5 * (d / width) ** 2))

    return 0.1 + 0.55 * bump(12.5, 2.5) + 0.85 * bump(20.5, 2.8) + 0.3 * bump(8.5, 1.2)


def cell_loads(site: Site, period_epochs: np.ndarray, seed: int) -> np.ndarray:
    """PRB load 0..1 per cell (rows) and measurement period (columns)."""
    hours = local_hours(period_epochs, site.tz)
    base = diurnal(hours) / 1.3
    loads = np.empty((len(site.cells), len(period_epochs)))
    for i, cell in enumerate(site.cells):
        rng = np.random.default_rng([seed, _key(cell), 2])
        noise = rng.normal(0, 0.035, len(period_epochs))
        loads[i] = np.clip(base * cell.traffic_scale + noise, 0.03, 0.95)
    return loads


def period_counters(cell: Cell, load: np.ndarray, period_s: int, seed: int, first_period: int) -> dict[str, np.ndarray]:
    """TS 28.552 counters of one cell for each period, in their 3GPP units."""
    rng = np.random.default_rng([seed, _key(cell), 3, first_period])
    n = len(load)
    ul = np.clip(load * 0.55 + rng.normal(0, 0.02, n), 0.01, 0.9)
    active_dl = load * ACTIVE_UE_PEAK * cell.traffic_scale
    rrc_mean = active_dl * 3.5 + 4
    cell_dl_mbps = load * CELL_PEAK_MBPS * 0.62
    cell_ul_mbps = ul * CELL_PEAK_MBPS * 0.18
    return {
        "RRU.PrbUsedDl": np.round(load * PRB_AVAILABLE),
        "RRU.PrbAvailDl": np.full(n, float(PRB_AVAILABLE)),
        "RRU.PrbUsedUl": np.round(ul * PRB_AVAILABLE),
        "RRU.PrbAvailUl": np.full(n, float(PRB_AVAILABLE)),
        "RRU.PrbTotDl": np.minimum(100.0, np.round(100 * (load + 0.04))),
        "RRU.PrbTotUl": np.minimum(100.0, np.round(100 * (ul + 0.03))),
        "DRB.UEThpDl": np.round(np.maximum(2000.0, 160000.0 * (1.08 - load) + rng.normal(0, 4000, n))),
        "DRB.UEThpUl": np.round(np.maximum(500.0, 38000.0 * (1.05 - ul) + rng.normal(0, 1500, n))),
        "DRB.MeanActiveUeDl": np.round(active_dl, 1),
        "RRC.ConnMean": np.round(rrc_mean),
        "RRC.ConnMax": np.round(rrc_mean * 1.35 + 3),
        "DRB.PdcpSduVolumeDL": np.round(cell_dl_mbps * period_s),
        "DRB.PdcpSduVolumeUL": np.round(cell_ul_mbps * period_s),
    }


def gnb_power_w(cell_loads_of_gnb: np.ndarray) -> np.ndarray:
    """Radio units' power of a gNB: idle per cell plus a load-proportional part (PEE.AvgPower, W)."""
    return np.asarray(np.sum(320.0 + 540.0 * cell_loads_of_gnb, axis=0))


def _key(cell: Cell) -> int:
    return sum(ord(c) for c in f"{cell.site}/{cell.gnb}/{cell.local_id}") * 1009 + cell.local_id

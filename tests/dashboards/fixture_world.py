"""The small world the dashboard fixture describes: sites, nodes, GPUs, tenants, and what goes wrong when.

Everything here is a constant or a pure function of one, so tests can derive the values a panel must show
from the same facts the rows were made from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipelines.lib.frames import polars_type
from pipelines.tables import table

#: End of the synthetic data (exclusive): hours 06:00 … 11:00 UTC on 2026-11-20.
END = dt.datetime(2026, 11, 20, 12, 0)
HOURS = 6
START = END - dt.timedelta(hours=HOURS)
TODAY = END.date()
DAILY_DAYS = 400
SITES = (
    ("tyo1", "Tokyo Koto AI factory", "Asia/Tokyo", 1.4),
    ("osa1", "Osaka Sakai AI factory", "Asia/Tokyo", 1.4),
)
NODES_PER_SITE = 3
GPUS_PER_NODE = 4
MODEL = "NVIDIA H100 80GB HBM3"
#: (tenant, name, kind, GPU-hours per site-hour, busy share)
TENANTS = (
    ("sakura-ai", "Sakura AI K.K.", "ai", 5.0, 0.82),
    ("kyoto-univ", "Kyoto University AI Lab", "ai", 3.0, 0.55),
    ("ai-ran", "AI-RAN (operator DU/L1)", "ran", 2.0, 0.35),
    ("unattributed", "Unattributed", "unattributed", 0.5, 0.4),
    ("idle", "Idle capacity", "idle", 1.5, 0.0),
)
#: osa1-gpu01 GPU 3 falls off the bus at 08:40; every GPU of osa1-gpu03 stops reporting at 10:30.
LOST_GPU = ("osa1", "osa1-gpu01", 3, dt.datetime(2026, 11, 20, 8, 40))
SILENT_NODE = ("osa1", "osa1-gpu03", dt.datetime(2026, 11, 20, 10, 30))
#: Runs hot from 09:00 (thermal slowdown); the power-capped GPU is held at its cap every hour.
HOT_GPU = ("tyo1", "tyo1-gpu02", 1)
POWER_CAPPED_GPU = ("osa1", "osa1-gpu02", 2)
#: An uncorrectable ECC error (Xid 48) at 09:15, then a pending row remap.
ECC_GPU = ("tyo1", "tyo1-gpu01", 0, dt.datetime(2026, 11, 20, 9, 15))
IDLE_GPUS = {("tyo1", "tyo1-gpu03", 2), ("tyo1", "tyo1-gpu03", 3)}
#: The tariff: JPY, a kWh at tyo1 costs 31, elsewhere 27.5; an H100 GPU-hour 420.
CURRENCY = "JPY"
KWH_PRICE = {"tyo1": 31.0, "osa1": 27.5}
GPU_HOUR_PRICE = 420.0
IDLE_POLICY = "weighted"

Rows = dict[str, list[dict[str, Any]]]


def frame(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with exactly the declared columns and types (undeclared keys refused)."""
    schema = {c.name: polars_type(c.type) for c in table(name).columns}
    for row in rows:
        extra = set(row) - set(schema)
        if extra:
            raise KeyError(f"{name}: undeclared columns {sorted(extra)}")
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema, orient="row")


def hours() -> list[dt.datetime]:
    return [START + dt.timedelta(hours=i) for i in range(HOURS)]


def uuid(site: str, node: int, index: int) -> str:
    return f"GPU-{site}-{node:02d}{index:02d}-0000-4000-8000-{node * 100 + index:012d}"


def gpus() -> list[dict[str, Any]]:
    """Every GPU with its newest sample and the end of the time its samples cover."""
    out = []
    for site, *_ in SITES:
        for n in range(1, NODES_PER_SITE + 1):
            node = f"{site}-gpu{n:02d}"
            for i in range(GPUS_PER_NODE):
                # Healthy GPUs report until the end (the last hour is complete); their newest sample is 2 min old.
                last, covered_until = END - dt.timedelta(minutes=2), END
                if (site, node, i) == LOST_GPU[:3]:
                    last = covered_until = LOST_GPU[3]
                elif (site, node) == SILENT_NODE[:2]:
                    last = covered_until = SILENT_NODE[2]
                out.append(
                    {
                        "site": site,
                        "node": node,
                        "gpu_index": i,
                        "gpu_uuid": uuid(site, n, i),
                        "last": last,
                        "covered_until": covered_until,
                    }
                )
    return out


def covered_s(gpu: dict[str, Any], hour: dt.datetime) -> float:
    """Seconds of ``hour`` the GPU's samples cover (0 once it has fallen silent)."""
    return float(max(0.0, min(3600.0, (gpu["covered_until"] - hour).total_seconds())))


def util(gpu: dict[str, Any], h: int) -> float:
    """Mean utilisation of a GPU in the ``h``-th hour (whole percent, as NVML reports it)."""
    if (gpu["site"], gpu["node"], gpu["gpu_index"]) in IDLE_GPUS:
        return 0.0
    node_i = int(gpu["node"][-2:])
    return 0.15 + 0.8 * ((node_i * 7 + int(gpu["gpu_index"]) * 3 + h * 5) % 10) / 10


#: How a GPU-hour's samples spread around its mean: (offset in percent points, tenths of the samples).
SPREAD = ((0, 4), (-10, 2), (10, 2), (-20, 1), (20, 1))


def util_hist(mean: float, samples: int) -> list[int]:
    """A 101-bin histogram of ``samples`` readings around ``mean`` (all at 0 % for an idle GPU)."""
    hist = [0] * 101
    centre = round(mean * 100)
    if centre == 0:
        hist[0] = samples
        return hist
    placed = 0
    for offset, tenths in SPREAD[1:]:
        count = samples * tenths // 10
        hist[min(100, max(0, centre + offset))] += count
        placed += count
    hist[centre] += samples - placed
    return hist


def tariff_energy_price(site: str) -> float:
    return KWH_PRICE.get(site, KWH_PRICE["osa1"])

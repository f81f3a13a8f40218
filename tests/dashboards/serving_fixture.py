"""A small serving file built exactly the way the pipeline publishes one, for verifying every panel.

:func:`serving_db` declares every serving table from ``pipelines.tables`` (``Table.ddl()`` through the
warehouse), fills six hours of deterministic synthetic rows for two sites (plus 400 days of daily PUE
for the monthly and 12-month panels), and publishes with ``Warehouse.publish`` — so the file has the
pipeline's storage version, column types and ordering. The data is shaped so that every panel has
something to show: a GPU that falls silent, a node whose collector stops, a hot and throttled GPU,
idle and unattributed tenant lines, an hour without PUE, a low-coverage hour, a meter reset.

To verify against a real demo run instead, point :func:`serving_db` at that run's
``serving/current.duckdb`` (one place to change).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.lib.frames import polars_type
from pipelines.lib.warehouse import Warehouse
from pipelines.tables import serving_tables, table

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
HOT_GPU = ("tyo1", "tyo1-gpu02", 1)
IDLE_GPUS = {("tyo1", "tyo1-gpu03", 2), ("tyo1", "tyo1-gpu03", 3)}


def _frame(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with exactly the declared columns and types (undeclared keys refused)."""
    tbl = table(name)
    schema = {c.name: polars_type(c.type) for c in tbl.columns}
    for row in rows:
        extra = set(row) - set(schema)
        if extra:
            raise KeyError(f"{name}: undeclared columns {sorted(extra)}")
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema, orient="row")


def _hours() -> list[dt.datetime]:
    return [START + dt.timedelta(hours=i) for i in range(HOURS)]


def _uuid(site: str, node: int, index: int) -> str:
    return f"GPU-{site}-{node:02d}{index:02d}-0000-4000-8000-{node * 100 + index:012d}"


def _gpus() -> list[dict[str, Any]]:
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
                        "gpu_uuid": _uuid(site, n, i),
                        "last": last,
                        "covered_until": covered_until,
                    }
                )
    return out


def _util(g: dict[str, Any], h: int) -> float:
    if (g["site"], g["node"], g["gpu_index"]) in IDLE_GPUS:
        return 0.0
    node_i = int(g["node"][-2:])
    return 0.15 + 0.8 * ((node_i * 7 + int(g["gpu_index"]) * 3 + h * 5) % 10) / 10


def _gpu_tables() -> dict[str, list[dict[str, Any]]]:
    hourly, last, dim = [], [], []
    for g in _gpus():
        key = (g["site"], g["node"], g["gpu_index"])
        for h, hour in enumerate(_hours()):
            covered = min(3600.0, (g["covered_until"] - hour).total_seconds())
            if covered <= 0:
                continue
            util = _util(g, h)
            power = 70.0 + 600.0 * util
            hot = key == HOT_GPU and h >= 3
            hourly.append(
                {
                    "hour": hour,
                    "site": g["site"],
                    "node": g["node"],
                    "gpu_uuid": g["gpu_uuid"],
                    "gpu_index": g["gpu_index"],
                    "model": MODEL,
                    "samples": int(covered // 30),
                    "sample_s": covered,
                    "util_mean_ratio": util,
                    "util_max_ratio": min(1.0, util + 0.1),
                    "busy_s": util * covered,
                    "power_mean_w": power,
                    "power_max_w": power + 40.0,
                    "energy_kwh": power / 1000.0 * covered / 3600.0,
                    "temp_max_c": 88.0 if hot else 38.0 + 45.0 * util,
                    "mem_used_max_bytes": int(util * 80) << 30,
                    "mem_total_bytes": 80 << 30,
                    "throttled_s": 600.0 if hot else 0.0,
                }
            )
        util_now = _util(g, HOURS - 1)
        last.append(
            {
                "site": g["site"],
                "node": g["node"],
                "gpu_uuid": g["gpu_uuid"],
                "gpu_index": g["gpu_index"],
                "model": MODEL,
                "ts": g["last"],
                "util_ratio": util_now,
                "power_w": 70.0 + 600.0 * util_now,
                "temp_c": 88.0 if key == HOT_GPU else 38.0 + 45.0 * util_now,
                "mem_used_bytes": int(util_now * 80) << 30,
                "mem_total_bytes": 80 << 30,
                "holder": None if key in IDLE_GPUS else f"ns-{g['gpu_index'] % 2}/pod-{g['node'][-2:]}",
            }
        )
        dim.append(
            {
                "site": g["site"],
                "node": g["node"],
                "gpu_uuid": g["gpu_uuid"],
                "gpu_index": g["gpu_index"],
                "model": MODEL,
                "first_seen": dt.datetime(2026, 10, 1),
                "last_seen": g["last"],
            }
        )
    return {"gpu_hourly": hourly, "gpu_last": last, "dim_gpu": dim}


def _site_pue(site_i: int, h: int) -> float:
    return 1.30 + 0.02 * h + 0.1 * site_i


def _energy_tables() -> dict[str, list[dict[str, Any]]]:
    pue_h, meters, tenants_h = [], [], []
    for si, (site, *_) in enumerate(SITES):
        for h, hour in enumerate(_hours()):
            gpu_kwh = NODES_PER_SITE * GPUS_PER_NODE * 0.45
            it = gpu_kwh + 3.0
            pue = _site_pue(si, h)
            low = site == "osa1" and h == 1
            pue_h.append(
                {
                    "hour": hour,
                    "site": site,
                    "facility_kwh": it * pue,
                    "it_kwh": it,
                    "gpu_kwh": gpu_kwh,
                    "other_it_kwh": 3.0,
                    "cooling_kwh": it * (pue - 1) * 0.8,
                    "pue": pue,
                    "cooling_ppue": 1 + (pue - 1) * 0.8,
                    "category": 2 if site == "tyo1" else 3,
                    "coverage_ratio": 0.7 if low else 1.0,
                    "low_coverage": low,
                }
            )
            for meter, role, kwh in (
                (f"{site}-utility-kwh", "facility_total", it * pue),
                (f"{site}-ups-out-kwh", "ups_output", it),
                (f"{site}-chiller-kwh", "cooling", it * (pue - 1) * 0.8),
            ):
                gap = role == "cooling" and h == 2
                meters.append(
                    {
                        "hour": hour,
                        "site": site,
                        "meter_id": meter,
                        "role": role,
                        "energy_kwh": kwh,
                        "covered_s": 2400.0 if gap else 3600.0,
                        "coverage_ratio": 2400.0 / 3600.0 if gap else 1.0,
                        "resets": 1 if role == "facility_total" and h == 4 else 0,
                        "interpolated": gap,
                    }
                )
            # Tenancy: osa1 has no PUE for 07:00 (facility energy unknown there).
            hour_pue = None if (site == "osa1" and h == 1) else pue
            for tenant, _name, _kind, gpu_hours, efficiency in TENANTS:
                energy = gpu_hours * (0.1 + 0.5 * efficiency)
                tenants_h.append(
                    {
                        "hour": hour,
                        "site": site,
                        "tenant": tenant,
                        "gpu_hours": gpu_hours,
                        "busy_gpu_hours": gpu_hours * efficiency * (0.9 + 0.04 * h),
                        "gpu_energy_kwh": energy,
                        "pue": hour_pue,
                        "facility_energy_kwh": None if hour_pue is None else energy * hour_pue,
                    }
                )
    return {"pue_hourly": pue_h, "meter_energy_hourly": meters, "tenant_usage_hourly": tenants_h}


def _daily_tables() -> dict[str, list[dict[str, Any]]]:
    pue_d, tenants_d = [], []
    for si, (site, *_) in enumerate(SITES):
        for back in range(DAILY_DAYS):
            day = TODAY - dt.timedelta(days=back)
            pue = 1.36 + 0.08 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 210) / 365) + 0.05 * si
            pue_d.append(
                {
                    "day": day,
                    "site": site,
                    "facility_kwh": 250.0 * pue,
                    "it_kwh": 250.0,
                    "gpu_kwh": 200.0,
                    "cooling_kwh": 250.0 * (pue - 1) * 0.8,
                    "pue": pue,
                    "category": 2 if site == "tyo1" else 3,
                    "coverage_ratio": 1.0,
                    "low_coverage": False,
                }
            )
        for back in range(3):
            for tenant, _name, _kind, gpu_hours, efficiency in TENANTS:
                tenants_d.append(
                    {
                        "day": TODAY - dt.timedelta(days=back),
                        "site": site,
                        "tenant": tenant,
                        "gpu_hours": 24 * gpu_hours,
                        "busy_gpu_hours": 24 * gpu_hours * efficiency,
                        "utilisation_ratio": efficiency,
                        "gpu_energy_kwh": 24 * gpu_hours * 0.4,
                        "facility_energy_kwh": 24 * gpu_hours * 0.4 * 1.35,
                    }
                )
    return {"pue_daily": pue_d, "tenant_usage_daily": tenants_d}


def _ran_tables() -> dict[str, list[dict[str, Any]]]:
    cells, gnbs = [], []
    for site, *_ in SITES:
        gnb = f"gnb-{site}-01"
        for h, hour in enumerate(_hours()):
            volume = 0.0
            for c in range(1, 4):
                covered = 2700.0 if (c == 3 and h == 2) else 3600.0
                dl, ul = 0.2 + 0.1 * h + 0.05 * c, 0.1 + 0.04 * h
                vol_dl, vol_ul = 40_000.0 * dl * covered / 3600, 8_000.0 * ul * covered / 3600
                volume += vol_dl + vol_ul
                cells.append(
                    {
                        "hour": hour,
                        "site": site,
                        "managed_element": gnb,
                        "cell": f"{gnb}/NRCellDU={c}",
                        "periods": int(covered // 900),
                        "covered_s": covered,
                        "prb_util_dl_ratio": dl,
                        "prb_util_ul_ratio": ul,
                        "ue_thp_dl_kbps": 90_000.0 * (1.2 - dl),
                        "ue_thp_ul_kbps": 20_000.0 * (1.1 - ul),
                        "volume_dl_mbit": vol_dl,
                        "volume_ul_mbit": vol_ul,
                        "rrc_conn_mean": 40.0 + 100 * dl,
                        "rrc_conn_max": 60.0 + 150 * dl,
                        "active_ue_dl_mean": 5.0 + 20 * dl,
                    }
                )
            energy = 1.2 + 0.1 * h
            gnbs.append(
                {
                    "hour": hour,
                    "site": site,
                    "managed_element": gnb,
                    "cells": 3,
                    "power_mean_w": energy * 1000.0,
                    "energy_kwh": energy,
                    "volume_mbit": volume,
                    "ee_bit_per_j": volume * 1e6 / (energy * 3.6e6),
                }
            )
    return {"ran_cell_hourly": cells, "ran_gnb_hourly": gnbs}


def _dimensions() -> dict[str, list[dict[str, Any]]]:
    return {
        "dim_site": [{"site": s, "name": n, "timezone": tz, "pue_target": t} for s, n, tz, t in SITES],
        "dim_tenant": [{"tenant": t, "name": n, "kind": k} for t, n, k, *_ in TENANTS],
    }


def fill(warehouse: Warehouse) -> None:
    """Write the synthetic rows through the warehouse's own partition and dimension writes."""
    rows = {**_gpu_tables(), **_energy_tables(), **_daily_tables(), **_ran_tables(), **_dimensions()}
    first_day = TODAY - dt.timedelta(days=DAILY_DAYS)
    for tbl in serving_tables():
        frame = _frame(tbl.name, rows.get(tbl.name, []))
        if tbl.grain is None:
            warehouse.replace_all(tbl.name, frame)
        elif tbl.grain == "hour":
            warehouse.replace_partition(tbl.name, frame, START, END)
        else:
            warehouse.replace_partition(tbl.name, frame, first_day, TODAY + dt.timedelta(days=1))


def serving_db(tmp_path: Path) -> Path:
    """Build the warehouse under ``tmp_path``, publish it, and return the serving file's path."""
    warehouse = Warehouse(tmp_path / "warehouse" / "warehouse.duckdb")
    fill(warehouse)
    return warehouse.publish(tmp_path / "serving" / "current.duckdb", serving_tables())

"""GPU rows of the dashboard fixture: hourly facts with histograms, daily rollups, latest samples, inventory,
health events and the GPU source's data quality.

Daily and node rollups go through the pipeline's own functions (``pipelines.lib.rollups``), so their
histograms and percentiles are what the marts would publish for these hours.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipelines.lib import rollups
from tests.dashboards import fixture_world as w


def _throttle(key: tuple[str, str, int], h: int) -> dict[str, float]:
    """Seconds per clocks-event reason; ``throttled_s`` is their union (here the longest one)."""
    reasons = dict.fromkeys(rollups.THROTTLE_BITS, 0.0)
    if key == w.HOT_GPU and h >= 3:
        reasons["throttle_sw_thermal_s"] = 600.0
        reasons["throttle_hw_thermal_s"] = 120.0
        if h == w.HOURS - 1:
            reasons["throttle_hw_slowdown_s"] = 60.0
    if key == w.POWER_CAPPED_GPU:
        reasons["throttle_sw_power_s"] = 900.0
    return {**reasons, "throttled_s": max(reasons.values())}


def health_events() -> list[dict[str, Any]]:
    """Reported (Xid, lost GPU) and derived (ECC, row remap, telemetry gap) events."""
    by_key = {(g["site"], g["node"], g["gpu_index"]): g for g in w.gpus()}

    lost, ecc, at = w.LOST_GPU[:3], w.ECC_GPU[:3], w.ECC_GPU[3]
    remap = "row remapping pending: the GPU needs a reset to use the spare row"
    #: (GPU, time, event, code, severity, message, origin)
    events: list[tuple[tuple[str, str, int], dt.datetime, str, int | None, str, str, str]] = [
        (("osa1", "osa1-gpu02", 0), dt.datetime(2026, 11, 20, 7, 20), "telemetry_gap", 1230, "warning",
         "no samples for 1230 s before this one", "derived"),
        (lost, w.LOST_GPU[3] - dt.timedelta(seconds=10), "xid", 79, "critical", "Xid 79: GPU has fallen off the bus",
         "reported"),
        (lost, w.LOST_GPU[3], "gpu_lost", 15, "critical", "NVML_ERROR_GPU_IS_LOST", "reported"),
        (ecc, at, "xid", 48, "critical", "Xid 48: double bit ECC error", "reported"),
        (ecc, at, "ecc_uncorrected", 2, "critical", "2 new uncorrectable ECC error(s), 2 in total", "derived"),
        (ecc, at + dt.timedelta(seconds=30), "remap_pending", None, "warning", remap, "derived"),
        (w.HOT_GPU, dt.datetime(2026, 11, 20, 10, 5), "xid", 13, "warning", "Xid 13: graphics engine exception",
         "reported"),
    ]  # fmt: skip
    out = []
    for key, ts, name, code, severity, message, origin in events:
        g = by_key[key]
        reported = origin == "reported"
        out.append(
            {
                "ts": ts,
                "site": g["site"],
                "node": g["node"],
                "gpu_uuid": g["gpu_uuid"],
                "gpu_instance_id": None,
                "event": name,
                "code": code,
                "severity": severity,
                "message": message,
                "origin": origin,
                "source": "nvml" if reported else "gpu_sample",
                "producer": f"nvml-agent@{g['node']}" if reported else "pipeline",
            }
        )
    return out


def _xid_per_hour() -> dict[tuple[str, str, dt.datetime], int]:
    out: dict[tuple[str, str, dt.datetime], int] = {}
    for e in health_events():
        if e["event"] == "xid":
            key = (e["site"], e["gpu_uuid"], e["ts"].replace(minute=0, second=0))
            out[key] = out.get(key, 0) + 1
    return out


def gpu_hourly() -> list[dict[str, Any]]:
    rows, xids = [], _xid_per_hour()
    for g in w.gpus():
        key = (g["site"], g["node"], g["gpu_index"])
        for h, hour in enumerate(w.hours()):
            covered = w.covered_s(g, hour)
            if covered <= 0:
                continue
            util = w.util(g, h)
            samples = int(covered // 30)
            power = 70.0 + 600.0 * util
            hot = key == w.HOT_GPU and h >= 3
            rows.append(
                {
                    "hour": hour,
                    "site": g["site"],
                    "node": g["node"],
                    "gpu_uuid": g["gpu_uuid"],
                    "gpu_index": g["gpu_index"],
                    "model": w.MODEL,
                    "samples": samples,
                    "sample_s": covered,
                    "util_mean_ratio": util,
                    "util_max_ratio": min(1.0, util + 0.2),
                    "util_samples": samples,
                    "util_sum_ratio": util * samples,
                    "util_hist": w.util_hist(util, samples),
                    "busy_s": util * covered,
                    "power_mean_w": power,
                    "power_max_w": power + 40.0,
                    "energy_kwh": power / 1000.0 * covered / 3600.0,
                    "energy_estimated_s": 0.0,
                    "temp_max_c": 88.0 if hot else 38.0 + 45.0 * util,
                    "mem_used_max_bytes": int(util * 80) << 30,
                    "mem_total_bytes": 80 << 30,
                    **_throttle(key, h),
                    "xid_events": xids.get((g["site"], g["gpu_uuid"], hour), 0),
                    "mig_instances": 0,
                }
            )
    return rows


def gpu_last_and_inventory() -> w.Rows:
    last, dim = [], []
    for g in w.gpus():
        key = (g["site"], g["node"], g["gpu_index"])
        util_now = w.util(g, w.HOURS - 1)
        ident = {k: g[k] for k in ("site", "node", "gpu_uuid", "gpu_index")}
        last.append(
            {
                **ident,
                "model": w.MODEL,
                "ts": g["last"],
                "util_ratio": util_now,
                "power_w": 70.0 + 600.0 * util_now,
                "temp_c": 88.0 if key == w.HOT_GPU else 38.0 + 45.0 * util_now,
                "mem_used_bytes": int(util_now * 80) << 30,
                "mem_total_bytes": 80 << 30,
                "holder": None if key in w.IDLE_GPUS else f"ns-{g['gpu_index'] % 2}/pod-{g['node'][-2:]}",
            }
        )
        dim.append({**ident, "model": w.MODEL, "first_seen": dt.datetime(2026, 10, 1), "last_seen": g["last"]})
    return {"gpu_last": last, "dim_gpu": dim}


def gpu_quality() -> list[dict[str, Any]]:
    """data_quality rows of the GPU source: expected = every GPU of the site (all seen in the day before)."""
    rows = []
    for site, *_ in w.SITES:
        site_gpus = [g for g in w.gpus() if g["site"] == site]
        for h, hour in enumerate(w.hours()):
            covered = [w.covered_s(g, hour) for g in site_gpus]
            reporting = sum(1 for c in covered if c > 0)
            nodes = {g["node"] for g, c in zip(site_gpus, covered, strict=True) if c > 0}
            late = 1 if (site == "osa1" and h == 1) else 0
            rows.append(
                {
                    "hour": hour,
                    "site": site,
                    "source": "gpu",
                    "unit": "gpus",
                    "expected": len(site_gpus),
                    "reporting": reporting,
                    "missing": len(site_gpus) - reporting,
                    "coverage_ratio": reporting / len(site_gpus),
                    "time_coverage_ratio": sum(covered) / (len(site_gpus) * 3600.0),
                    "records": int(sum(c // 30 for c in covered)),
                    "files": len(nodes),
                    "late_files": late,
                    "max_delay_s": 5400.0 if late else 95.0 + h,
                    "quarantined_files": 0,
                }
            )
    return rows


def tables() -> w.Rows:
    hourly = gpu_hourly()
    daily = rollups.gpu_daily(w.frame("gpu_hourly", hourly))
    nodes = rollups.node_daily(daily)
    return {
        "gpu_hourly": hourly,
        "gpu_daily": daily.to_dicts(),
        "node_daily": nodes.with_columns(pl.col("gpus").cast(pl.Int64)).to_dicts(),
        "gpu_health_events": health_events(),
        "collector_health_hourly": collector_health(),
        **gpu_last_and_inventory(),
    }


#: Agent samples per hour (every 30 s) in the collector_health fixture.
ATTEMPTS_PER_HOUR = 120


def collector_health() -> list[dict[str, Any]]:
    """The lost GPU's node agent fails every sample from 08:40 (GPU off the bus); tyo1's exporter always answers."""
    site, node, index, lost_at = w.LOST_GPU
    rows = []
    for hour in w.hours():
        end = hour + dt.timedelta(hours=1)
        failures = 0 if end <= lost_at else (ATTEMPTS_PER_HOUR if hour >= lost_at else 40)
        last_ok = min(end, lost_at) - dt.timedelta(seconds=30) if failures < ATTEMPTS_PER_HOUR else None
        common = {"hour": hour, "duration_mean_s": 0.014, "duration_max_s": 0.02}
        rows.append(
            {
                **common,
                "site": site,
                "source": "nvml",
                "producer": f"nvml-agent@{node}",
                "target": node,
                "attempts": ATTEMPTS_PER_HOUR,
                "failures": failures,
                "ok_ratio": 1 - failures / ATTEMPTS_PER_HOUR,
                "samples": ATTEMPTS_PER_HOUR * 8 - failures,
                "last_ok_at": last_ok,
                "last_error": f"GPU {index}: NVML_ERROR_GPU_IS_LOST" if failures else None,
                "last_attempt_at": end - dt.timedelta(seconds=30),
            }
        )
        rows.append(
            {
                **common,
                "site": "tyo1",
                "source": "dcgm",
                "producer": "dcgm-scraper@tyo1",
                "target": "tyo1-gpu01:9400",
                "attempts": ATTEMPTS_PER_HOUR,
                "failures": 0,
                "ok_ratio": 1.0,
                "samples": ATTEMPTS_PER_HOUR * 168,
                "last_ok_at": end - dt.timedelta(seconds=30),
                "last_error": None,
                "last_attempt_at": end - dt.timedelta(seconds=30),
            }
        )
    return rows

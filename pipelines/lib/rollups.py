"""Rollups that keep exact answers: counts, sums, maxima and a 101-bin utilisation histogram per GPU-hour.

Utilisation arrives in whole percent from both NVML and dcgm-exporter, so a histogram with one bin per percent
loses nothing: summing the histograms of any set of GPU-hours gives the exact distribution of that set's
samples, and a percentile read from it equals ``quantile_disc`` over the raw samples (a test proves it), at
1/360 of the rows. Element-wise list sums are slow in SQL, so daily and node rollups of the histogram are done
with NumPy; the hourly one is a DuckDB ``histogram()`` aggregate in the same statement as the other facts.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipelines.lib.frames import conform_to_table

BINS = 101
#: NVML clocks-event reasons that hold a GPU back by power or heat (SW/HW power cap, thermal, brake).
THROTTLE_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80
THROTTLE_BITS = {
    "throttle_sw_power_s": 0x4,
    "throttle_hw_slowdown_s": 0x8,
    "throttle_sw_thermal_s": 0x20,
    "throttle_hw_thermal_s": 0x40,
    "throttle_power_brake_s": 0x80,
}
QUANTILES = {"util_p50_ratio": 0.5, "util_p95_ratio": 0.95, "util_p99_ratio": 0.99}

_THROTTLE_SQL = ",\n    ".join(
    f"coalesce(sum(interval_s) FILTER (WHERE (throttle_reasons & {bit}) <> 0), 0) AS {name}"
    for name, bit in THROTTLE_BITS.items()
)

#: One statement per partition window: facts per physical GPU and hour (MIG instance rows are counted only).
GPU_HOURLY_SQL = f"""
WITH s AS (
    SELECT *, CAST(round(util_ratio * 100) AS INTEGER) AS pct
    FROM gpu_sample WHERE ts >= ? AND ts < ? AND gpu_instance_id IS NULL
), mig AS (
    SELECT site, gpu_uuid, date_trunc('hour', ts) AS hour, count(DISTINCT gpu_instance_id) AS mig_instances
    FROM gpu_sample WHERE ts >= ? AND ts < ? AND gpu_instance_id IS NOT NULL GROUP BY ALL
), xid AS (
    SELECT site, gpu_uuid, date_trunc('hour', ts) AS hour, count(DISTINCT (ts, code)) AS xid_events
    FROM gpu_health_events WHERE ts >= ? AND ts < ? AND event LIKE 'xid%' GROUP BY ALL
), agg AS (
    SELECT
        date_trunc('hour', ts) AS hour,
        site,
        max(node) AS node,
        gpu_uuid,
        max(gpu_index) AS gpu_index,
        max(model) AS model,
        count(*) AS samples,
        sum(interval_s) AS sample_s,
        sum(util_ratio * interval_s) / nullif(sum(CASE WHEN util_ratio IS NOT NULL THEN interval_s END), 0)
            AS util_mean_ratio,
        max(util_ratio) AS util_max_ratio,
        count(util_ratio) AS util_samples,
        sum(util_ratio) AS util_sum_ratio,
        histogram(pct) FILTER (WHERE pct BETWEEN 0 AND 100) AS hist,
        coalesce(sum(util_ratio * interval_s), 0) AS busy_s,
        sum(power_w * interval_s) / nullif(sum(CASE WHEN power_w IS NOT NULL THEN interval_s END), 0)
            AS power_mean_w,
        max(power_w) AS power_max_w,
        sum(energy_j) / 3.6e6 AS energy_kwh,
        coalesce(sum(interval_s) FILTER (WHERE energy_method <> 'counter'), 0) AS energy_estimated_s,
        max(temp_c) AS temp_max_c,
        max(mem_used_bytes) AS mem_used_max_bytes,
        max(mem_total_bytes) AS mem_total_bytes,
        coalesce(sum(interval_s) FILTER (WHERE (throttle_reasons & {THROTTLE_MASK}) <> 0), 0) AS throttled_s,
    {_THROTTLE_SQL}
    FROM s
    GROUP BY date_trunc('hour', ts), site, gpu_uuid
)
SELECT agg.* EXCLUDE (hist),
       list_transform(range({BINS}), i -> CAST(coalesce(hist[i], 0) AS INTEGER)) AS util_hist,
       coalesce(xid.xid_events, 0) AS xid_events,
       coalesce(mig.mig_instances, 0) AS mig_instances
FROM agg
LEFT JOIN xid USING (site, gpu_uuid, hour)
LEFT JOIN mig USING (site, gpu_uuid, hour)
"""


def hist_matrix(column: pl.Series) -> np.ndarray:
    """A list column of 101-bin histograms as an (n, 101) int64 matrix (missing lists become zeros)."""
    if column.len() == 0:
        return np.zeros((0, BINS), dtype=np.int64)
    filled = column.fill_null([0] * BINS)
    return np.asarray(filled.list.to_array(BINS).to_numpy(), dtype=np.int64).reshape(-1, BINS)


def hist_quantile(hists: np.ndarray, q: float) -> np.ndarray:
    """Nearest-rank quantile per row (as ``quantile_disc``), in percent; NaN where a row has no samples."""
    cum = np.cumsum(hists, axis=1)
    total = cum[:, -1] if cum.size else np.zeros(0, dtype=np.int64)
    target = np.maximum(1, np.ceil(q * total.astype(np.float64)))
    pos = np.argmax(cum >= target[:, None], axis=1).astype(np.float64) if cum.size else np.zeros(0)
    pos[total == 0] = np.nan
    return pos


def hist_quantile_one(hist: list[int], q: float) -> float | None:
    """The same for one histogram, in plain Python (for statements and tests)."""
    total = sum(hist)
    if total == 0:
        return None
    target = max(1, math.ceil(q * total))
    running = 0
    for pct, count in enumerate(hist):
        running += count
        if running >= target:
            return float(pct)
    return float(BINS - 1)


def sum_hists_by(frame: pl.DataFrame, keys: list[str], column: str = "util_hist") -> pl.DataFrame:
    """Element-wise histogram sums per group of ``keys`` (groups in first-seen order), with p50/p95/p99."""
    if frame.is_empty():
        return frame.select(keys).with_columns(
            pl.lit(None, pl.List(pl.Int32)).alias(column), *(pl.lit(None, pl.Float64).alias(q) for q in QUANTILES)
        )
    firsts = frame.select(keys).unique(maintain_order=True).with_row_index("__g")
    order = (
        frame.select(keys)
        .join(firsts, on=keys, how="left", maintain_order="left", nulls_equal=True)
        .get_column("__g")
        .to_numpy()
    )
    sums = np.zeros((firsts.height, BINS), dtype=np.int64)
    np.add.at(sums, order, hist_matrix(frame.get_column(column)))
    out = firsts.drop("__g").with_columns(pl.Series(column, sums.tolist(), dtype=pl.List(pl.Int32)))
    return out.with_columns(
        pl.Series(name, hist_quantile(sums, q) / 100.0, dtype=pl.Float64).fill_nan(None)
        for name, q in QUANTILES.items()
    )


def gpu_daily(hourly: pl.DataFrame) -> pl.DataFrame:
    """``gpu_daily`` rows from one day of ``gpu_hourly`` rows."""
    if hourly.is_empty():
        return conform_to_table("gpu_daily", hourly.head(0).with_columns(pl.lit(None, pl.Date).alias("day")))
    keys = ["day", "site", "gpu_uuid"]
    rows = hourly.with_columns(pl.col("hour").dt.date().alias("day")).sort([*keys, "hour"])
    facts = rows.group_by(keys, maintain_order=True).agg(
        pl.col("node").max(),
        pl.col("gpu_index").max(),
        pl.col("model").max(),
        pl.len().alias("hours"),
        pl.col("samples").sum(),
        pl.col("sample_s").sum(),
        _weighted_mean("util_mean_ratio", "sample_s"),
        pl.col("util_max_ratio").max(),
        pl.col("util_samples").sum(),
        pl.col("util_sum_ratio").sum(),
        pl.col("busy_s").sum(),
        _weighted_mean("power_mean_w", "sample_s"),
        pl.col("power_max_w").max(),
        pl.col("energy_kwh").sum(),
        pl.col("temp_max_c").max(),
        pl.col("mem_used_max_bytes").max(),
        pl.col("throttled_s").sum(),
        *(pl.col(c).sum() for c in THROTTLE_BITS),
        pl.col("xid_events").sum(),
    )
    hists = sum_hists_by(rows, keys)
    return conform_to_table("gpu_daily", facts.join(hists, on=keys, how="left", maintain_order="left"))


def node_daily(daily: pl.DataFrame) -> pl.DataFrame:
    """``node_daily`` rows from one day of ``gpu_daily`` rows: the node's GPUs pooled."""
    if daily.is_empty():
        return conform_to_table("node_daily", daily.head(0))
    keys = ["day", "site", "node"]
    rows = daily.sort([*keys, "gpu_uuid"])
    facts = rows.group_by(keys, maintain_order=True).agg(
        pl.col("gpu_uuid").n_unique().alias("gpus"),
        (pl.col("sample_s").sum() / 3600).alias("gpu_hours"),
        _weighted_mean("util_mean_ratio", "sample_s"),
        pl.col("energy_kwh").sum(),
        pl.col("power_max_w").max(),
        pl.col("temp_max_c").max(),
        pl.col("throttled_s").sum(),
        pl.col("xid_events").sum(),
    )
    hists = sum_hists_by(rows, keys)
    return conform_to_table("node_daily", facts.join(hists, on=keys, how="left", maintain_order="left"))


def _weighted_mean(column: str, weight: str) -> pl.Expr:
    known = pl.col(column).is_not_null()
    num = (pl.col(column) * pl.col(weight)).filter(known).sum()
    den = pl.col(weight).filter(known).sum()
    return pl.when(den > 0).then(num / den).otherwise(None).alias(column)

"""GPU health events: what the collectors reported, plus what only the samples show.

Reported events (``landing/gpu_health``) arrive as the NVML agent and the dcgm-exporter scraper saw them: Xid
errors, lost GPUs, reset required. The samples add what no event carries: uncorrectable ECC errors (the
cumulative counter went up), row remapping that became pending or failed, and telemetry gaps (a GPU silent
for more than three of its sampling intervals, then back). Derived events compare each sample with the one
before it, looking one hour back so an hour's first sample is judged against the previous hour's last.
"""

from __future__ import annotations

import polars as pl

from pipelines.lib.frames import conform_to_table

GAP_INTERVALS = 3.0
SEVERITIES = ("critical", "warning", "info")

#: Events derived from consecutive samples of one GPU: the hour's samples and each GPU's last sample of the
#: hour before (enough to judge the first one). Parameters: start, end, start − 1 h, start, start.
DERIVED_EVENTS_SQL = f"""
WITH cur AS (
    SELECT site, node, gpu_uuid, ts, interval_s, ecc_uncorrected_total, remap_pending, remap_failed
    FROM gpu_sample WHERE ts >= ? AND ts < ? AND gpu_instance_id IS NULL
), prev AS (
    SELECT site, arg_max(node, ts) AS node, gpu_uuid, max(ts) AS ts, arg_max(interval_s, ts) AS interval_s,
        arg_max(ecc_uncorrected_total, ts) AS ecc_uncorrected_total, arg_max(remap_pending, ts) AS remap_pending,
        arg_max(remap_failed, ts) AS remap_failed
    FROM gpu_sample WHERE ts >= ? AND ts < ? AND gpu_instance_id IS NULL
    GROUP BY site, gpu_uuid
), recent AS (
    SELECT * FROM cur UNION ALL BY NAME SELECT * FROM prev
), candidates AS (
    -- Only GPUs where something can have happened go through the window: ECC went up, a remap flag is set, or
    -- the samples' carried intervals do not add up to the time they span (a sample beyond the carry limit).
    SELECT site, gpu_uuid FROM recent GROUP BY site, gpu_uuid
    HAVING max(ecc_uncorrected_total) > min(ecc_uncorrected_total)
        OR bool_or(remap_pending) OR bool_or(remap_failed)
        OR abs(epoch(max(ts)) - epoch(min(ts)) - (sum(interval_s) - arg_max(interval_s, ts))) > 0.5
), s AS (
    SELECT *,
        lag(ts) OVER w AS prev_ts,
        lag(interval_s) OVER w AS prev_interval_s,
        lag(ecc_uncorrected_total) OVER w AS prev_ecc,
        lag(remap_pending) OVER w AS prev_pending,
        lag(remap_failed) OVER w AS prev_failed
    FROM recent WHERE (site, gpu_uuid) IN (SELECT (site, gpu_uuid) FROM candidates)
    WINDOW w AS (PARTITION BY site, gpu_uuid ORDER BY ts)
), events AS (
    SELECT ts, site, node, gpu_uuid, 'ecc_uncorrected' AS event, ecc_uncorrected_total - prev_ecc AS code,
        'critical' AS severity,
        printf('%d new uncorrectable ECC error(s), %d in total', ecc_uncorrected_total - prev_ecc,
               ecc_uncorrected_total) AS message
    FROM s WHERE ecc_uncorrected_total > prev_ecc
    UNION ALL
    SELECT ts, site, node, gpu_uuid, 'remap_pending', NULL, 'warning',
        'row remapping pending: the GPU needs a reset to use the spare row'
    FROM s WHERE remap_pending AND NOT coalesce(prev_pending, false)
    UNION ALL
    SELECT ts, site, node, gpu_uuid, 'remap_failed', NULL, 'critical',
        'row remapping failed: the GPU needs service'
    FROM s WHERE remap_failed AND NOT coalesce(prev_failed, false)
    UNION ALL
    SELECT ts, site, node, gpu_uuid, 'telemetry_gap',
        CAST(round(epoch(ts) - epoch(prev_ts)) AS BIGINT), 'warning',
        printf('no samples for %d s before this one', CAST(round(epoch(ts) - epoch(prev_ts)) AS BIGINT))
    FROM s WHERE epoch(ts) - epoch(prev_ts) > {GAP_INTERVALS} * prev_interval_s
)
SELECT ts, site, node, gpu_uuid, CAST(NULL AS INTEGER) AS gpu_instance_id, event, code, severity, message,
    'derived' AS origin, 'gpu_sample' AS source, 'pipeline' AS producer
FROM events WHERE ts >= ?
ORDER BY ts, site, gpu_uuid, event
"""


def reported_events(landed: pl.DataFrame) -> pl.DataFrame:
    """``gpu_health_events`` rows from landed ``gpu_health`` rows: one per key, severities normalised."""
    if landed.is_empty():
        return conform_to_table("gpu_health_events", landed.head(0))
    severity = pl.col("severity").str.to_lowercase()
    rows = (
        landed.with_columns(
            pl.col("ts").dt.convert_time_zone("UTC").dt.replace_time_zone(None),
            pl.when(severity.is_in(list(SEVERITIES))).then(severity).otherwise(pl.lit("warning")).alias("severity"),
            pl.lit("reported").alias("origin"),
        )
        .sort("ts", "site", "node", "gpu_uuid", "gpu_instance_id", "event", "code", "producer", nulls_last=False)
        .unique(
            subset=["site", "node", "gpu_uuid", "gpu_instance_id", "ts", "event", "code"],
            keep="first",
            maintain_order=True,
        )
    )
    return conform_to_table("gpu_health_events", rows)


def combine(reported: pl.DataFrame, derived: pl.DataFrame) -> pl.DataFrame:
    """Both kinds in one frame, time-ordered; a derived event never duplicates a reported key."""
    both = pl.concat(
        [conform_to_table("gpu_health_events", reported), conform_to_table("gpu_health_events", derived)],
        how="vertical",
    )
    return both.unique(
        subset=["site", "node", "gpu_uuid", "gpu_instance_id", "ts", "event", "code"], keep="first", maintain_order=True
    ).sort("ts", "site", "node", "gpu_uuid", "event", nulls_last=False)

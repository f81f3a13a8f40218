"""Collector health per hour: which collector reached which target, how often it failed, and why.

Every collector (NVML agent, dcgm-exporter scraper, Prometheus backfill, Redfish poller) lands one
``collector_health`` row per collection attempt. Missing GPU or meter data in ``data_quality`` says *that*
something is silent; these rows say *why*: the target refused the connection, timed out, or a GPU was lost.
One row per hour, site, source, producer and target keeps the table small however often collectors poll, and
the latest error of the hour is the one an operator acts on.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from collectors.landing import LandingZone
from collectors.layout import DataRoot
from pipelines.lib.frames import conform_to_table

HOUR = dt.timedelta(hours=1)
#: One aggregated row per these columns and hour.
GROUP = ("site", "source", "producer", "target")
#: What identifies one attempt in the landing zone (re-landed identical batches must not count twice).
ATTEMPT = ("site", "producer", "target", "ts")


def collector_health_hour(root: DataRoot, hour: dt.datetime) -> pl.DataFrame:
    """``collector_health_hourly`` rows for ``hour`` (UTC) from the attempts landed for that hour."""
    hour = hour.astimezone(dt.UTC) if hour.tzinfo else hour.replace(tzinfo=dt.UTC)
    attempts = LandingZone(root).read_hours("collector_health", [hour])
    return summarise_attempts(attempts, hour)


def summarise_attempts(attempts: pl.DataFrame, hour: dt.datetime) -> pl.DataFrame:
    """Aggregate landed attempts (``collector_health`` landing rows) of one hour into table rows.

    Attempts are ordered by time first, so "latest" means the latest ``ts`` (ties broken by error text, so the
    result does not depend on file order); rows outside the hour are ignored (a file belongs to one hour, but a
    producer's clock is not ours to trust).
    """
    hour = hour.astimezone(dt.UTC) if hour.tzinfo else hour.replace(tzinfo=dt.UTC)
    start, end = hour.replace(tzinfo=None), (hour + HOUR).replace(tzinfo=None)
    if attempts.height == 0:
        return conform_to_table("collector_health_hourly", pl.DataFrame())
    rows = (
        attempts.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        .filter((pl.col("ts") >= start) & (pl.col("ts") < end))
        .sort([*ATTEMPT, "error"], nulls_last=False)
        .unique(subset=list(ATTEMPT), keep="last", maintain_order=True)
        .sort(["ts", "error"], nulls_last=False)
    )
    if rows.height == 0:
        return conform_to_table("collector_health_hourly", pl.DataFrame())
    failed = ~pl.col("ok")
    summary = (
        rows.group_by(list(GROUP), maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("attempts"),
            failed.sum().cast(pl.Int64).alias("failures"),
            pl.col("samples").sum().cast(pl.Int64).alias("samples"),
            pl.col("duration_s").mean().alias("duration_mean_s"),
            pl.col("duration_s").max().alias("duration_max_s"),
            pl.col("ts").filter(pl.col("ok")).max().alias("last_ok_at"),
            pl.col("error").filter(failed).last().alias("last_error"),
            pl.col("ts").max().alias("last_attempt_at"),
        )
        .with_columns(
            pl.lit(start, dtype=pl.Datetime("us")).alias("hour"),
            ((pl.col("attempts") - pl.col("failures")) / pl.col("attempts")).alias("ok_ratio"),
        )
        .sort(list(GROUP))
    )
    return conform_to_table("collector_health_hourly", summary)

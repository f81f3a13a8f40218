"""Helpers shared by the asset modules: the hours of a partition window, landing specs, check windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

#: Landed collector output: written by collectors outside Dagster, read by the first assets of each domain.
LANDING_GPU = dg.AssetSpec(
    key=dg.AssetKey(["landing", "gpu"]),
    description="GPU samples landed by the NVML agent, the dcgm-exporter scraper and the Prometheus backfill "
    "(Parquet under landing/gpu/date=…/hour=…).",
    group_name="landing",
    kinds={"parquet"},
    metadata={"path": "landing/gpu/date=YYYY-MM-DD/hour=HH/*.parquet"},
)
LANDING_GPU_HEALTH = dg.AssetSpec(
    key=dg.AssetKey(["landing", "gpu_health"]),
    description="GPU health events (Xid, lost GPUs, recoveries) landed by the GPU collectors.",
    group_name="landing",
    kinds={"parquet"},
    metadata={"path": "landing/gpu_health/date=YYYY-MM-DD/hour=HH/*.parquet"},
)


def utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def hours_in(window: dg.TimeWindow) -> Iterator[dt.datetime]:
    """Every UTC hour start in a partition time window (one for an hourly partition, 24 for a day …)."""
    h = utc(window.start)
    end = utc(window.end)
    while h < end:
        yield h
        h += HOUR


def naive(value: dt.datetime) -> dt.datetime:
    """Warehouse timestamps are naive UTC."""
    return utc(value).replace(tzinfo=None)


def check_window(
    context: dg.AssetCheckExecutionContext, latest: dt.datetime | None, default_hours: int = 48
) -> tuple[dt.datetime, dt.datetime]:
    """What a check looks at: the partition window its run covered, else the last ``default_hours`` of data.

    Checks run after the asset in the same run; scoping them to the run's window keeps them cheap on a
    large warehouse and still covers every partition a backfill wrote.
    """
    op = context.op_execution_context
    if op.has_partition_key_range:
        window = op.partition_time_window
        return naive(window.start), naive(window.end)
    end = (latest or dt.datetime(1970, 1, 1)) + HOUR
    return end - default_hours * HOUR, end

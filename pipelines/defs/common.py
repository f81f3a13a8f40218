"""Helpers shared by the asset modules: the hours of a partition window, landing specs, check windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

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
LANDING_COLLECTOR_HEALTH = dg.AssetSpec(
    key=dg.AssetKey(["landing", "collector_health"]),
    description="One row per collection attempt per target (ok, duration, samples, error) landed by the NVML "
    "agent, the dcgm-exporter scraper, the Prometheus backfill and the Redfish poller.",
    group_name="landing",
    kinds={"parquet"},
    metadata={"path": "landing/collector_health/date=YYYY-MM-DD/hour=HH/*.parquet"},
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


#: Assets of unpartitioned tables follow any upstream change; daily ones also re-run days a late hour touched.
_DEFAULT = object()


def table_asset(
    name: str,
    *,
    group: str,
    deps: Sequence[str | dg.AssetKey] = (),
    kinds: set[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    automation_condition: dg.AutomationCondition[Any] | object | None = _DEFAULT,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``@dg.asset`` for an asset that writes the declared warehouse table ``name``.

    Everything that follows from the table declaration is filled in once, here: hourly or daily partitions
    (processed as one run per backfill), the ``duckdb_writer`` pool, the ``table``/``partition_expr``
    metadata, the ``domain`` and ``cadence`` tags the jobs and the demo select by, and the automation
    condition (hourly: schedules; daily: after any changed hour; unpartitioned: after any upstream change).
    """
    from pipelines.defs.automation import DAILY_AUTOMATION
    from pipelines.partitions import DAILY, HOURLY, SINGLE_RUN
    from pipelines.resources import WRITER_POOL
    from pipelines.tables import table

    tbl = table(name)
    partitions = {"hour": HOURLY, "day": DAILY}.get(tbl.grain or "")
    cadence = {"hour": "hourly", "day": "daily"}.get(tbl.grain or "", "on_change") if partitions else "on_change"
    if automation_condition is _DEFAULT:
        automation_condition = {
            "hourly": None,
            "daily": DAILY_AUTOMATION,
            "on_change": dg.AutomationCondition.eager(),
        }[cadence]
    assert automation_condition is None or isinstance(automation_condition, dg.AutomationCondition)
    meta: dict[str, Any] = {"table": name}
    if partitions is not None:
        meta["partition_expr"] = tbl.time_column
    meta.update(metadata or {})
    return dg.asset(
        name=name,
        group_name=group,
        kinds=kinds or {"duckdb"},
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN if partitions is not None else None,
        pool=WRITER_POOL,
        deps=list(deps),
        metadata=meta,
        automation_condition=automation_condition,
        tags={"domain": group, "cadence": cadence},
    )

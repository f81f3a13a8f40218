"""Data quality per site, source and hour: who is silent, which files came late or could not be read, and which
collector failed to reach which target."""

import dagster as dg

from pipelines.defs.common import HOUR, LANDING_COLLECTOR_HEALTH, hours_in, naive, table_asset
from pipelines.lib.bulk import tune_session
from pipelines.lib.collector_health import collector_health_hour
from pipelines.lib.quality import LATE_AFTER, data_quality_hour, quarantined_file_rows
from pipelines.partitions import HOURLY, SINGLE_RUN
from pipelines.resources import WRITER_POOL, DataRootResource, WarehouseResource


@dg.asset(
    name="data_quality",
    group_name="quality",
    kinds={"polars", "duckdb"},
    partitions_def=HOURLY,
    backfill_policy=SINGLE_RUN,
    pool=WRITER_POOL,
    deps=["gpu_hourly", "ran_pm_record", "meter_reading", "meter_energy_hourly"],
    metadata={"table": "data_quality", "partition_expr": "hour", "late_after_minutes": LATE_AFTER.seconds // 60},
    tags={"domain": "quality", "cadence": "hourly"},
)
def data_quality(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Per site, source (GPU, RAN PM, facility meters) and hour: expected vs reporting GPUs, cells and meters,
    how much of the hour their data covers, and landed files that came late or inbox files quarantined."""
    wh = warehouse.warehouse
    rows = 0
    worst: dict[str, float] = {}
    late = quarantined = 0
    with wh.session():
        tune_session(wh)
        for hour in hours_in(context.partition_time_window):
            frame = data_quality_hour(wh, site_root.data_root, hour)
            rows += wh.replace_partition("data_quality", frame, naive(hour), naive(hour + HOUR))
            for source, ratio in frame.select("source", "coverage_ratio").drop_nulls().iter_rows():
                worst[source] = min(worst.get(source, 1.0), float(ratio))
            late += int(frame.get_column("late_files").sum())
            quarantined += int(frame.get_column("quarantined_files").sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            **{f"coverage_min_{s}": dg.FloatMetadataValue(round(v, 4)) for s, v in sorted(worst.items())},
            "late_files": late,
            "quarantined_files": quarantined,
        }
    )


@table_asset("quarantined_file", group="quality", deps=["ran_pm_inbox", "meter_csv_inbox"], kinds={"polars", "duckdb"})
def quarantined_file(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Every inbox file that could not be read, by the hour it arrived, with the collector's reason and where
    it lies in quarantine/: the list an operator works through (fix the file, drop it in the inbox again)."""
    wh = warehouse.warehouse
    rows = 0
    by_kind: dict[str, int] = {}
    with wh.session():
        for hour in hours_in(context.partition_time_window):
            frame = quarantined_file_rows(site_root.data_root, hour)
            rows += wh.replace_partition("quarantined_file", frame, naive(hour), naive(hour + HOUR))
            for kind in frame.get_column("kind").to_list():
                by_kind[kind] = by_kind.get(kind, 0) + 1
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, **{f"quarantined_{k}": n for k, n in sorted(by_kind.items())}}
    )


@table_asset(
    "collector_health_hourly", group="quality", deps=[LANDING_COLLECTOR_HEALTH.key], kinds={"polars", "duckdb"}
)
def collector_health_hourly(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Collection attempts per hour, site, collector and target, with failures and the latest error: the *why*
    behind a silent node or a gap in data_quality (refused connection, timeout, lost GPU)."""
    wh = warehouse.warehouse
    rows = failures = 0
    failing: set[tuple[str, str, str, str]] = set()
    with wh.session():
        for hour in hours_in(context.partition_time_window):
            frame = collector_health_hour(site_root.data_root, hour)
            rows += wh.replace_partition("collector_health_hourly", frame, naive(hour), naive(hour + HOUR))
            failures += int(frame.get_column("failures").sum())
            bad = frame.filter(frame.get_column("failures") > 0)
            failing |= {(a, b, c, d) for a, b, c, d in bad.select("site", "source", "producer", "target").iter_rows()}
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "failures": failures, "targets_with_failures": len(failing)}
    )

"""GPU assets: clean samples with interval energy, hourly and daily facts per GPU and node, last value, inventory."""

import datetime as dt

import dagster as dg
import polars as pl

from pipelines.defs.common import DAY, HOUR, LANDING_GPU, hours_in, naive, table_asset
from pipelines.lib.bulk import in_chunks, tune_session
from pipelines.lib.frames import conform_to_table
from pipelines.lib.gpu_samples import CLEAN_INPUT, MAX_CARRY_INTERVALS, NEXT_INPUT, clean_hour, read_landed
from pipelines.lib.rollups import GPU_HOURLY_SQL, gpu_daily, node_daily
from pipelines.resources import DataRootResource, WarehouseResource
from pipelines.tables import table


@table_asset(
    "gpu_sample",
    group="gpu",
    deps=[LANDING_GPU.key],
    kinds={"polars", "duckdb"},
    metadata={"also_writes": "gpu_sample_holder"},
)
def gpu_sample(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Clean GPU samples per hour: duplicates across producers removed, and each sample's interval energy
    taken from the GPU's energy counter (power × time where the counter reset or is missing); who held each
    GPU goes to ``gpu_sample_holder``, one row per sample and holder.

    Reads the hour's landed files plus the first samples of the next hour, so re-running an hour after later
    data arrived makes its last interval exact. In a backfill each hour's files are read once.
    """
    landing = site_root.landing
    wh = warehouse.warehouse
    rows = holder_rows = gpus = mig_rows = 0
    methods: dict[str, int] = {}
    hours = list(hours_in(context.partition_time_window))
    upcoming = read_landed(landing, hours[0], columns=CLEAN_INPUT) if hours else None
    with wh.session():
        tune_session(wh)
        for i, hour in enumerate(hours):
            current = upcoming
            assert current is not None
            # A backfill reads each hour once (the next hour's rows become the next current one); the last hour
            # of the run only needs the next hour's first samples.
            if i + 1 < len(hours):
                upcoming = read_landed(landing, hour + HOUR, columns=CLEAN_INPUT)
            else:
                upcoming = read_landed(landing, hour + HOUR, head_s=_head_s(current), columns=NEXT_INPUT)
            clean = clean_hour(current, upcoming)
            del current
            rows += wh.replace_partition("gpu_sample", in_chunks(clean.samples), hour, hour + HOUR)
            holder_rows += wh.replace_partition("gpu_sample_holder", in_chunks(clean.holders), hour, hour + HOUR)
            gpus = max(gpus, clean.samples.select("gpu_uuid").n_unique())
            mig_rows += int(clean.samples.get_column("gpu_instance_id").is_not_null().sum())
            for method, count in clean.samples.get_column("energy_method").value_counts().iter_rows():
                methods[str(method)] = methods.get(str(method), 0) + int(count)
            del clean
    whole_rows = rows - mig_rows
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "holder_rows": holder_rows,
            "hours": len(hours),
            "gpus_max_per_hour": gpus,
            "mig_instance_rows": mig_rows,
            "energy_from_counter_ratio": dg.FloatMetadataValue(
                round(methods.get("counter", 0) / whole_rows, 4) if whole_rows else 0.0
            ),
            "energy_methods": methods,
        }
    )


def _head_s(rows: pl.DataFrame) -> float:
    """How far into the next hour a GPU's next sample may lie and still close this hour's last interval."""
    longest = rows.select(pl.col("interval_s").max().fill_null(60.0)).item() if rows.height else 60.0
    return MAX_CARRY_INTERVALS * float(longest) + 1.0


@table_asset("gpu_hourly", group="gpu", deps=["gpu_sample", "gpu_health_events"])
def gpu_hourly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Hourly facts per physical GPU: time-weighted and summed utilisation with a 101-bin histogram (exact
    percentiles later), busy GPU-seconds, power, energy (kWh), peak temperature and memory, seconds held back
    by each power or thermal reason, Xid events. One DuckDB statement per run."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        tune_session(wh)
        rows = wh.replace_partition_sql("gpu_hourly", GPU_HOURLY_SQL, [start, end] * 3, start, end)
        stats = wh.query(
            "SELECT sum(energy_kwh) AS kwh, sum(busy_s) / nullif(sum(sample_s), 0) AS util, "
            "sum(sample_s) / nullif(count(*) * 3600, 0) AS coverage, min(sample_s / 3600) AS worst, "
            "sum(throttled_s) AS throttled, sum(xid_events) AS xid FROM gpu_hourly WHERE hour >= ? AND hour < ?",
            [start, end],
        ).row(0, named=True)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "gpu_energy_kwh": dg.FloatMetadataValue(round(float(stats["kwh"] or 0.0), 3)),
            "fleet_util_ratio": dg.FloatMetadataValue(round(float(stats["util"] or 0.0), 4)),
            "sample_coverage_ratio": dg.FloatMetadataValue(round(float(stats["coverage"] or 0.0), 4)),
            "min_gpu_hour_coverage": dg.FloatMetadataValue(round(float(stats["worst"] or 0.0), 4)),
            "throttled_s": dg.FloatMetadataValue(round(float(stats["throttled"] or 0.0), 1)),
            "xid_events": int(stats["xid"] or 0),
        }
    )


@table_asset("gpu_daily", group="gpu", deps=["gpu_hourly"], kinds={"polars", "duckdb"})
def gpu_daily_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Daily facts per GPU from its hours, with the summed histogram and exact p50/p95/p99 utilisation."""
    wh = warehouse.warehouse
    rows = 0
    coverage: list[float] = []
    with wh.session():
        tune_session(wh)
        for day in _days(context):
            hourly = wh.read_partition("gpu_hourly", day, day + DAY)
            frame = gpu_daily(hourly)
            rows += wh.replace_partition("gpu_daily", frame, day.date(), (day + DAY).date())
            if frame.height:
                coverage.append(float(frame.get_column("sample_s").sum()) / (frame.height * 86400))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "days": len(coverage),
            "sample_coverage_ratio": dg.FloatMetadataValue(round(min(coverage), 4) if coverage else 0.0),
        }
    )


@table_asset("node_daily", group="gpu", deps=["gpu_daily"], kinds={"polars", "duckdb"})
def node_daily_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Daily utilisation per node: its GPUs' histograms pooled, exact p50/p95/p99, energy, peaks."""
    wh = warehouse.warehouse
    rows = nodes = 0
    with wh.session():
        tune_session(wh)
        for day in _days(context):
            frame = node_daily(wh.read_partition("gpu_daily", day.date(), (day + DAY).date()))
            rows += wh.replace_partition("node_daily", frame, day.date(), (day + DAY).date())
            nodes = max(nodes, frame.height)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "nodes_max_per_day": nodes})


def _days(context: dg.AssetExecutionContext) -> list[dt.datetime]:
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    out = []
    day = start
    while day < end:
        out.append(day)
        day += DAY
    return out


GPU_LAST_SQL = """
WITH latest AS (SELECT max(hour) - INTERVAL 1 HOUR AS since FROM gpu_hourly),
last AS (
    SELECT site, arg_max(node, ts) AS node, gpu_uuid, arg_max(gpu_index, ts) AS gpu_index,
           arg_max(model, ts) AS model, max(ts) AS ts, arg_max(util_ratio, ts) AS util_ratio,
           arg_max(power_w, ts) AS power_w, arg_max(temp_c, ts) AS temp_c,
           arg_max(mem_used_bytes, ts) AS mem_used_bytes, arg_max(mem_total_bytes, ts) AS mem_total_bytes
    FROM gpu_sample
    WHERE gpu_instance_id IS NULL AND ts >= (SELECT since FROM latest)
    GROUP BY site, gpu_uuid
),
holder AS (
    SELECT site, gpu_uuid, ts,
           CASE WHEN namespace IS NOT NULL THEN namespace || '/' || coalesce(pod, '?')
                WHEN hpc_job IS NOT NULL THEN 'job ' || hpc_job
                ELSE 'pid ' || CAST(pid AS VARCHAR) END AS holder
    FROM gpu_sample_holder
    WHERE gpu_instance_id IS NULL AND position = 0 AND ts >= (SELECT since FROM latest)
)
SELECT last.*, holder.holder FROM last LEFT JOIN holder USING (site, gpu_uuid, ts)
ORDER BY site, gpu_uuid
"""

DIM_GPU_SQL = """
SELECT site, arg_max(node, hour) AS node, gpu_uuid, arg_max(gpu_index, hour) AS gpu_index,
       arg_max(model, hour) AS model, min(hour) AS first_seen, max(hour) + INTERVAL 1 HOUR AS last_seen
FROM gpu_hourly
GROUP BY site, gpu_uuid
ORDER BY site, gpu_uuid
"""


@table_asset("gpu_last", group="gpu", deps=["gpu_sample", "gpu_hourly"])
def gpu_last(warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """The latest sample of every GPU seen in the last hour of data: what 'now' panels show."""
    wh = warehouse.warehouse
    with wh.session():
        tune_session(wh)
        frame = wh.query(GPU_LAST_SQL)
        rows = wh.replace_all("gpu_last", conform_to_table("gpu_last", frame)) if frame.height else 0
    latest = frame.get_column("ts").max() if frame.height else None
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "latest_sample": str(latest)})


@table_asset("dim_gpu", group="gpu", deps=["gpu_hourly"])
def dim_gpu(warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """GPU inventory as telemetry sees it: site, node, index, model, first and last seen (hour resolution)."""
    wh = warehouse.warehouse
    with wh.session():
        tune_session(wh)
        frame = wh.query(DIM_GPU_SQL)
        rows = wh.replace_all("dim_gpu", frame.select(table("dim_gpu").column_names)) if frame.height else 0
    per_site = {} if frame.is_empty() else dict(frame.group_by("site").len().sort("site").iter_rows())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "gpus_per_site": per_site})

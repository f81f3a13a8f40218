"""GPU assets: clean samples with interval energy, hourly facts per GPU, last value and inventory."""

import dagster as dg

from pipelines.defs.common import HOUR, LANDING_GPU, hours_in, naive
from pipelines.lib.gpu_samples import clean_samples
from pipelines.partitions import HOURLY, SINGLE_RUN
from pipelines.resources import WRITER_POOL, DataRootResource, WarehouseResource
from pipelines.tables import table

#: Clocks-event reasons that mean the GPU was held back by power or heat (SW/HW power cap, thermal, brake).
THROTTLE_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80


@dg.asset(
    name="gpu_sample",
    group_name="gpu",
    kinds={"polars", "duckdb"},
    partitions_def=HOURLY,
    backfill_policy=SINGLE_RUN,
    pool=WRITER_POOL,
    deps=[LANDING_GPU.key],
    metadata={"table": "gpu_sample", "partition_expr": "ts"},
    tags={"domain": "gpu", "cadence": "hourly"},
)
def gpu_sample(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Clean GPU samples per hour: duplicates across producers removed, and each sample's interval energy
    taken from the GPU's energy counter (power × time where the counter reset or is missing).

    Reads the hour's landed files plus the first sample of the next hour, so re-running an hour after later
    data arrived makes its last interval exact.
    """
    landing = site_root.landing
    wh = warehouse.warehouse
    rows = gpus = 0
    methods: dict[str, int] = {}
    hours = list(hours_in(context.partition_time_window))
    with wh.session():
        for hour in hours:
            frame = clean_samples(landing.read_hour("gpu", hour), landing.read_hour("gpu", hour + HOUR))
            rows += wh.replace_partition("gpu_sample", frame, hour, hour + HOUR)
            gpus = max(gpus, frame.select("gpu_uuid").n_unique())
            for method, count in frame.get_column("energy_method").value_counts().iter_rows():
                methods[str(method)] = methods.get(str(method), 0) + int(count)
    context.log.info(f"gpu_sample: {rows} rows over {len(hours)} hour(s)")
    energy_rows = sum(methods.values()) or 1
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "hours": len(hours),
            "gpus_max_per_hour": gpus,
            "energy_from_counter_ratio": dg.FloatMetadataValue(round(methods.get("counter", 0) / energy_rows, 4)),
            "energy_methods": methods,
        }
    )


GPU_HOURLY_SQL = f"""
SELECT
    date_trunc('hour', ts) AS hour,
    site,
    any_value(node) AS node,
    gpu_uuid,
    any_value(gpu_index) AS gpu_index,
    any_value(model) AS model,
    count(*) AS samples,
    sum(interval_s) AS sample_s,
    sum(util_ratio * interval_s) / nullif(sum(CASE WHEN util_ratio IS NOT NULL THEN interval_s END), 0)
        AS util_mean_ratio,
    max(util_ratio) AS util_max_ratio,
    sum(util_ratio * interval_s) AS busy_s,
    sum(power_w * interval_s) / nullif(sum(CASE WHEN power_w IS NOT NULL THEN interval_s END), 0) AS power_mean_w,
    max(power_w) AS power_max_w,
    sum(energy_j) / 3.6e6 AS energy_kwh,
    max(temp_c) AS temp_max_c,
    max(mem_used_bytes) AS mem_used_max_bytes,
    max(mem_total_bytes) AS mem_total_bytes,
    coalesce(sum(CASE WHEN (throttle_reasons & {THROTTLE_MASK}) <> 0 THEN interval_s END), 0) AS throttled_s
FROM gpu_sample
WHERE ts >= ? AND ts < ? AND gpu_instance_id IS NULL
GROUP BY ALL
"""


@dg.asset(
    name="gpu_hourly",
    group_name="gpu",
    kinds={"duckdb"},
    partitions_def=HOURLY,
    backfill_policy=SINGLE_RUN,
    pool=WRITER_POOL,
    deps=["gpu_sample"],
    metadata={"table": "gpu_hourly", "partition_expr": "hour"},
    tags={"domain": "gpu", "cadence": "hourly"},
)
def gpu_hourly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Hourly facts per physical GPU: time-weighted utilisation, busy GPU-seconds, power, energy (kWh),
    peak temperature and memory, seconds held back by power or thermal limits. One DuckDB statement per run."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        rows = wh.replace_partition_sql("gpu_hourly", GPU_HOURLY_SQL, [start, end], start, end)
        stats = wh.query(
            "SELECT sum(energy_kwh) AS kwh, avg(util_mean_ratio) AS util, min(sample_s / 3600) AS coverage "
            "FROM gpu_hourly WHERE hour >= ? AND hour < ?",
            [start, end],
        ).row(0, named=True)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "gpu_energy_kwh": dg.FloatMetadataValue(round(float(stats["kwh"] or 0.0), 3)),
            "fleet_util_mean": dg.FloatMetadataValue(round(float(stats["util"] or 0.0), 4)),
            "min_gpu_hour_coverage": dg.FloatMetadataValue(round(float(stats["coverage"] or 0.0), 4)),
        }
    )


GPU_LAST_SQL = """
SELECT site, arg_max(node, ts) AS node, gpu_uuid, arg_max(gpu_index, ts) AS gpu_index, arg_max(model, ts) AS model,
       max(ts) AS ts, arg_max(util_ratio, ts) AS util_ratio, arg_max(power_w, ts) AS power_w,
       arg_max(temp_c, ts) AS temp_c, arg_max(mem_used_bytes, ts) AS mem_used_bytes,
       arg_max(mem_total_bytes, ts) AS mem_total_bytes,
       arg_max(CASE WHEN len(holders) = 0 THEN NULL
                    WHEN holders[1].namespace IS NOT NULL THEN holders[1].namespace || '/' || holders[1].pod
                    WHEN holders[1].hpc_job IS NOT NULL THEN 'job ' || holders[1].hpc_job
                    ELSE 'pid ' || holders[1].pid::VARCHAR END, ts) AS holder
FROM gpu_sample
WHERE gpu_instance_id IS NULL AND ts >= (SELECT max(ts) FROM gpu_sample) - INTERVAL 1 HOUR
GROUP BY site, gpu_uuid
"""

DIM_GPU_SQL = """
SELECT site, arg_max(node, ts) AS node, gpu_uuid, arg_max(gpu_index, ts) AS gpu_index, arg_max(model, ts) AS model,
       min(ts) AS first_seen, max(ts) AS last_seen
FROM gpu_sample WHERE gpu_instance_id IS NULL
GROUP BY site, gpu_uuid
"""


@dg.asset(
    name="gpu_last",
    group_name="gpu",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    deps=["gpu_sample"],
    metadata={"table": "gpu_last"},
    automation_condition=dg.AutomationCondition.eager(),
    tags={"domain": "gpu", "cadence": "on_change"},
)
def gpu_last(warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """The latest sample of every GPU seen in the last hour of data: what 'now' panels show."""
    wh = warehouse.warehouse
    frame = wh.query(GPU_LAST_SQL)
    rows = wh.replace_all("gpu_last", frame.select(table("gpu_last").column_names)) if frame.height else 0
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(
    name="dim_gpu",
    group_name="gpu",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    deps=["gpu_sample"],
    metadata={"table": "dim_gpu"},
    automation_condition=dg.AutomationCondition.eager(),
    tags={"domain": "gpu", "cadence": "on_change"},
)
def dim_gpu(warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """GPU inventory as telemetry sees it: site, node, index, model, first and last seen."""
    wh = warehouse.warehouse
    frame = wh.query(DIM_GPU_SQL)
    rows = wh.replace_all("dim_gpu", frame.select(table("dim_gpu").column_names)) if frame.height else 0
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})

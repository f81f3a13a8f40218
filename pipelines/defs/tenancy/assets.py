"""Tenancy assets: GPU-hours, busy GPU-hours and energy per tenant, with the idle and unattributed lines."""

import datetime as dt

import dagster as dg
import polars as pl

from pipelines.defs.common import HOUR, hours_in, naive
from pipelines.lib.frames import conform_to_table
from pipelines.lib.tenancy import IDLE, UNATTRIBUTED, TenantConfig, attribute, load_tenants
from pipelines.partitions import DAILY, HOURLY, SINGLE_RUN
from pipelines.resources import WRITER_POOL, DataRootResource, WarehouseResource


@dg.asset(
    name="dim_tenant",
    group_name="tenancy",
    kinds={"yaml", "duckdb"},
    pool=WRITER_POOL,
    metadata={"table": "dim_tenant", "source": "config/tenants.yaml"},
    tags={"domain": "tenancy", "cadence": "on_change"},
)
def dim_tenant(site_root: DataRootResource, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Tenants from ``tenants.yaml`` (validated on load, errors name the tenant and field), plus the
    'idle' and 'unattributed' lines aigrid adds so that tenant totals equal metered totals."""
    config = load_tenants(site_root.data_root.tenants_file)
    rows = [{"tenant": t.id, "name": t.name, "kind": t.kind} for t in config.tenants]
    rows += [
        {"tenant": IDLE, "name": "Idle (no holder)", "kind": IDLE},
        {"tenant": UNATTRIBUTED, "name": "Unattributed (held, no tenant rule matched)", "kind": UNATTRIBUTED},
    ]
    count = warehouse.warehouse.replace_all("dim_tenant", pl.DataFrame(rows))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": count,
            "tenants": len(config.tenants),
            "reservations": sum(len(t.reservations) for t in config.tenants),
        }
    )


HOUR_SAMPLES_SQL = """
SELECT ts, site, gpu_uuid, gpu_instance_id, interval_s, util_ratio, energy_j, holders
FROM gpu_sample WHERE ts >= ? AND ts < ?
"""


@dg.asset(
    name="tenant_usage_hourly",
    group_name="tenancy",
    kinds={"polars", "duckdb"},
    partitions_def=HOURLY,
    backfill_policy=SINGLE_RUN,
    pool=WRITER_POOL,
    deps=["gpu_sample", "pue_hourly", "dim_tenant"],
    metadata={"table": "tenant_usage_hourly", "partition_expr": "hour"},
    tags={"domain": "tenancy", "cadence": "hourly"},
)
def tenant_usage_hourly(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Per tenant, site and hour: GPU-hours held, busy GPU-hours and GPU energy, split sample by sample
    (reservations first, then HPC job and namespace rules); facility energy = GPU energy × the hour's PUE."""
    config = load_tenants(site_root.data_root.tenants_file)
    wh = warehouse.warehouse
    total_rows = 0
    tenants_seen: set[str] = set()
    with wh.session():
        for hour in hours_in(context.partition_time_window):
            start, end = naive(hour), naive(hour + HOUR)
            samples = wh.query(HOUR_SAMPLES_SQL, [start, end])
            pue = wh.query("SELECT site, pue FROM pue_hourly WHERE hour = ?", [start])
            frame = _usage_for_hour(samples, config, pue, start)
            tenants_seen |= set(frame.get_column("tenant").to_list())
            total_rows += wh.replace_partition("tenant_usage_hourly", frame, start, end)
    return dg.MaterializeResult(metadata={"dagster/row_count": total_rows, "tenants_seen": len(tenants_seen)})


def _usage_for_hour(samples: pl.DataFrame, config: TenantConfig, pue: pl.DataFrame, hour: dt.datetime) -> pl.DataFrame:
    if samples.is_empty():
        return conform_to_table("tenant_usage_hourly", pl.DataFrame({"hour": [], "site": [], "tenant": []}))
    split = attribute(samples, config)
    usage = split.group_by("site", "tenant").agg(
        (pl.col("gpu_s").sum() / 3600).alias("gpu_hours"),
        (pl.col("busy_s").sum() / 3600).alias("busy_gpu_hours"),
        (pl.col("energy_j").sum() / 3.6e6).alias("gpu_energy_kwh"),
    )
    if pue.is_empty():
        pue = pl.DataFrame(schema={"site": pl.String, "pue": pl.Float64})
    usage = usage.join(pue, on="site", how="left").with_columns(
        pl.lit(hour).alias("hour"), (pl.col("gpu_energy_kwh") * pl.col("pue")).alias("facility_energy_kwh")
    )
    return conform_to_table("tenant_usage_hourly", usage.sort("site", "tenant"))


TENANT_DAILY_SQL = """
SELECT CAST(hour AS DATE) AS day, site, tenant,
       sum(gpu_hours) AS gpu_hours, sum(busy_gpu_hours) AS busy_gpu_hours,
       sum(busy_gpu_hours) / nullif(sum(gpu_hours), 0) AS utilisation_ratio,
       sum(gpu_energy_kwh) AS gpu_energy_kwh, sum(facility_energy_kwh) AS facility_energy_kwh
FROM tenant_usage_hourly
WHERE hour >= ? AND hour < ?
GROUP BY ALL
"""


@dg.asset(
    name="tenant_usage_daily",
    group_name="tenancy",
    kinds={"duckdb"},
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    pool=WRITER_POOL,
    deps=["tenant_usage_hourly"],
    metadata={"table": "tenant_usage_daily", "partition_expr": "day"},
    automation_condition=dg.AutomationCondition.eager(),
    tags={"domain": "tenancy", "cadence": "daily"},
)
def tenant_usage_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Daily GPU-hours, utilisation and energy per tenant and site: the basis of the monthly statement."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    rows = warehouse.warehouse.replace_partition_sql(
        "tenant_usage_daily", TENANT_DAILY_SQL, [start, end], start.date(), end.date()
    )
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})

"""Tenant rollups: daily and monthly usage and cost (the statements' basis) and the AI-RAN split per hour."""

import dagster as dg

from pipelines.defs.common import naive, table_asset
from pipelines.defs.tenancy.assets import TARIFF_FILE
from pipelines.lib.bulk import tune_session
from pipelines.lib.frames import conform_to_table
from pipelines.lib.tariff import load_tariff
from pipelines.lib.usage import AI_RAN_SHARE_SQL, TENANT_DAILY_SQL, TENANT_MONTHLY_SQL, share_idle
from pipelines.resources import DataRootResource, WarehouseResource


@table_asset("tenant_usage_daily", group="tenancy", deps=["tenant_usage_hourly"])
def tenant_usage_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Daily GPU-hours, utilisation, energy with PUE uplift and cost per tenant, site and GPU model."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        tune_session(wh)
        rows = wh.replace_partition_sql("tenant_usage_daily", TENANT_DAILY_SQL, [start, end], start.date(), end.date())
        stats = wh.query(
            "SELECT count(DISTINCT tenant) AS tenants, sum(cost) AS cost, max(currency) AS currency "
            "FROM tenant_usage_daily WHERE day >= ? AND day < ?",
            [start.date(), end.date()],
        ).row(0, named=True)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "tenants": int(stats["tenants"] or 0),
            "cost": dg.FloatMetadataValue(round(float(stats["cost"] or 0.0), 2)),
            "currency": str(stats["currency"] or "none"),
        }
    )


@table_asset(
    "tenant_usage_monthly", group="tenancy", deps=["tenant_usage_daily", "dim_tariff"], kinds={"polars", "duckdb"}
)
def tenant_usage_monthly(site_root: DataRootResource, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Monthly usage and cost per tenant, site and GPU model (the current month to date), with idle capacity
    shared out under the tariff's idle policy: exactly what each tenant's statement shows. Rebuilt from the
    daily rows whenever any day changes (a few rows per tenant and day, so a full rebuild stays cheap and
    can never drift from the days)."""
    tariff = load_tariff(site_root.data_root.config / TARIFF_FILE)
    policy = tariff.idle_policy if tariff else "separate"
    wh = warehouse.warehouse
    with wh.session():
        tune_session(wh)
        monthly = share_idle(wh.query(TENANT_MONTHLY_SQL), policy)
        rows = wh.replace_all("tenant_usage_monthly", conform_to_table("tenant_usage_monthly", monthly))
    months = [] if monthly.is_empty() else sorted({str(m) for m in monthly.get_column("month").to_list()})
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "months": ", ".join(months) or "none", "idle_policy": policy}
    )


@table_asset("ai_ran_share_hourly", group="tenancy", deps=["tenant_usage_hourly", "ran_cell_hourly"])
def ai_ran_share_hourly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Per site and hour: GPU-hours and energy of the RAN, AI tenants, unattributed use and idle, shares of
    the fleet, and the RAN cells' load (PRB utilisation, data volume) beside it, with RAN bits per GPU joule."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        tune_session(wh)
        wh.query("SELECT 1")  # creates any input table no asset has written yet (e.g. before RAN data arrives)
        rows = wh.replace_partition_sql("ai_ran_share_hourly", AI_RAN_SHARE_SQL, [start, end] * 2, start, end)
        stats = wh.query(
            "SELECT sum(ran_gpu_hours) / nullif(sum(gpu_hours), 0) AS ran, "
            "sum(ran_gpu_hours) / nullif(sum(ran_gpu_hours + ai_gpu_hours + unattributed_gpu_hours), 0) AS alloc, "
            "count(*) FILTER (WHERE cells > 0) AS with_cells "
            "FROM ai_ran_share_hourly WHERE hour >= ? AND hour < ?",
            [start, end],
        ).row(0, named=True)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "ran_share_ratio": dg.FloatMetadataValue(round(float(stats["ran"] or 0.0), 4)),
            "ran_share_of_allocated_ratio": dg.FloatMetadataValue(round(float(stats["alloc"] or 0.0), 4)),
            "site_hours_with_cell_load": int(stats["with_cells"] or 0),
        }
    )

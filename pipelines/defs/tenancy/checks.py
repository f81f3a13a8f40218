"""Checks on tenancy: every hour's tenants + idle + unattributed equal the metered GPU time and energy."""

import dagster as dg

from pipelines.defs.common import check_window
from pipelines.resources import WarehouseResource

RECONCILE_SQL = """
WITH metered AS (
    SELECT date_trunc('hour', ts) AS hour, site, sum(interval_s) / 3600 AS gpu_hours, sum(energy_j) / 3.6e6 AS kwh
    FROM gpu_sample WHERE gpu_instance_id IS NULL AND ts >= ? AND ts < ? GROUP BY ALL
), billed AS (
    SELECT hour, site, sum(gpu_hours) AS gpu_hours, sum(gpu_energy_kwh) AS kwh
    FROM tenant_usage_hourly WHERE hour >= ? AND hour < ? GROUP BY ALL
)
SELECT coalesce(m.hour, b.hour) AS hour, coalesce(m.site, b.site) AS site,
       m.gpu_hours AS metered_gpu_hours, b.gpu_hours AS billed_gpu_hours, m.kwh AS metered_kwh, b.kwh AS billed_kwh
FROM metered m FULL OUTER JOIN billed b ON m.hour = b.hour AND m.site = b.site
WHERE b.hour IS NULL OR m.hour IS NULL
   OR abs(m.gpu_hours - b.gpu_hours) > 1e-3 * greatest(m.gpu_hours, 1e-9)
   OR abs(coalesce(m.kwh, 0) - coalesce(b.kwh, 0)) > 1e-3 * greatest(coalesce(m.kwh, 0), 1e-9)
ORDER BY 1, 2
"""


@dg.asset_check(
    asset="tenant_usage_hourly",
    blocking=True,
    description="Tenants + idle + unattributed = metered GPU-hours and GPU energy, every hour and site (0.1 %).",
)
def tenant_usage_reconciles(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(hour) AS t FROM tenant_usage_hourly").item())
    off = wh.query(RECONCILE_SQL, [start, end, start, end])
    return dg.AssetCheckResult(
        passed=off.is_empty(),
        metadata={"hours_off": off.height, "first_off": str(off.head(1).to_dicts()) if off.height else "none"},
    )


@dg.asset_check(asset="tenant_usage_hourly", description="One row per tenant, site and hour.")
def tenant_usage_unique_keys(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(hour) AS t FROM tenant_usage_hourly").item())
    dupes = wh.query(
        "SELECT count(*) FROM (SELECT hour, site, tenant FROM tenant_usage_hourly WHERE hour >= ? AND hour < ? "
        "GROUP BY ALL HAVING count(*) > 1)",
        [start, end],
    ).item()
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_keys": int(dupes)})

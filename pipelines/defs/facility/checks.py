"""Checks on facility energy and PUE: PUE below 1 is a failed check, not a value; coverage; unique keys."""

import dagster as dg

from pipelines.defs.common import check_window
from pipelines.defs.inbox import quarantine_check
from pipelines.resources import WarehouseResource


@dg.asset_check(
    asset="pue_hourly",
    description="No hour where facility energy is below IT energy (PUE < 1) or GPU energy exceeds IT energy.",
)
def pue_hourly_physical(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(hour) AS t FROM pue_hourly").item())
    bad = wh.query(
        "SELECT site, hour, facility_kwh, it_kwh, gpu_kwh, checks_failed FROM pue_hourly "
        "WHERE hour >= ? AND hour < ? "
        "AND (checks_failed LIKE '%pue_below_1%' OR checks_failed LIKE '%gpu_exceeds_it%') "
        "ORDER BY hour, site",
        [start, end],
    )
    return dg.AssetCheckResult(
        passed=bad.is_empty(),
        metadata={
            "hours_failed": bad.height,
            "examples": dg.MarkdownMetadataValue(
                "\n".join(
                    f"- {r['site']} {r['hour']}: {r['checks_failed']}" for r in bad.head(10).iter_rows(named=True)
                )
                or "none"
            ),
        },
    )


@dg.asset_check(
    asset="pue_hourly",
    description="Warns when hours before the latest have both meters for less than 90 % of the hour.",
)
def pue_hourly_coverage(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    latest = wh.query("SELECT max(hour) AS t FROM pue_hourly").item()
    start, end = check_window(context, latest)
    low = wh.query(
        "SELECT site, count(*) AS hours, min(coverage_ratio) AS worst FROM pue_hourly "
        "WHERE hour >= ? AND hour < ? AND hour < ? AND low_coverage GROUP BY site ORDER BY site",
        [start, end, latest],
    )
    return dg.AssetCheckResult(
        passed=low.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "low_coverage_hours": int(low.get_column("hours").sum()) if low.height else 0,
            "by_site": dg.MarkdownMetadataValue(
                "\n".join(f"- {r['site']}: {r['hours']} h, worst {r['worst']:.2f}" for r in low.iter_rows(named=True))
                or "none"
            ),
        },
    )


@dg.asset_check(
    asset="meter_energy_hourly", blocking=True, description="One row per meter and hour; no negative energy."
)
def meter_energy_keys_and_sign(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(hour) AS t FROM meter_energy_hourly").item())
    row = wh.query(
        "SELECT (SELECT count(*) FROM (SELECT site, meter_id, hour FROM meter_energy_hourly "
        "WHERE hour >= ? AND hour < ? "
        "GROUP BY ALL HAVING count(*) > 1)) AS dupes, "
        "(SELECT count(*) FROM meter_energy_hourly WHERE hour >= ? AND hour < ? AND energy_kwh < 0) AS negative",
        [start, end, start, end],
    ).row(0, named=True)
    return dg.AssetCheckResult(
        passed=row["dupes"] == 0 and row["negative"] == 0, metadata={k: int(v) for k, v in row.items()}
    )


meter_csv_quarantine = quarantine_check("meter_csv", "meter_csv_inbox")

"""Checks on the RAN tables: KPIs within physical ranges, one row per cell and hour; the PM quarantine."""

import dagster as dg

from pipelines.defs.common import check_window
from pipelines.defs.inbox import quarantine_check
from pipelines.resources import WarehouseResource

ran_pm_quarantine = quarantine_check("ran_pm", "ran_pm_inbox")


@dg.asset_check(
    asset="ran_cell_hourly",
    blocking=True,
    description="PRB utilisation within 0..1, no negative volume, throughput or connections; unique keys.",
)
def ran_cell_hourly_ranges(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(hour) AS t FROM ran_cell_hourly").item())
    row = wh.query(
        "SELECT count(*) FILTER (WHERE prb_util_dl_ratio NOT BETWEEN 0 AND 1 OR prb_util_ul_ratio NOT BETWEEN 0 AND 1)"
        " AS prb, count(*) FILTER (WHERE volume_dl_mbit < 0 OR volume_ul_mbit < 0) AS volume, "
        "count(*) FILTER (WHERE ue_thp_dl_kbps < 0 OR ue_thp_ul_kbps < 0 OR rrc_conn_mean < 0) AS negative, "
        "count(*) - count(DISTINCT (site, managed_element, cell, hour)) AS duplicate_keys "
        "FROM ran_cell_hourly WHERE hour >= ? AND hour < ?",
        [start, end],
    ).row(0, named=True)
    return dg.AssetCheckResult(passed=not any(row.values()), metadata={k: int(v) for k, v in row.items()})


@dg.asset_check(
    asset="ran_gnb_hourly",
    description="Energy efficiency is only reported with positive energy; energy and power not negative.",
)
def ran_gnb_hourly_energy(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(hour) AS t FROM ran_gnb_hourly").item())
    row = wh.query(
        "SELECT count(*) FILTER (WHERE energy_kwh < 0 OR power_mean_w < 0) AS negative, "
        "count(*) FILTER (WHERE ee_bit_per_j IS NOT NULL AND NOT energy_kwh > 0) AS ee_without_energy "
        "FROM ran_gnb_hourly WHERE hour >= ? AND hour < ?",
        [start, end],
    ).row(0, named=True)
    return dg.AssetCheckResult(passed=not any(row.values()), metadata={k: int(v) for k, v in row.items()})

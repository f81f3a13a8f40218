"""Checks on the GPU tables: unique keys, physical ranges, coverage of each GPU-hour."""

import dagster as dg

from pipelines.defs.common import check_window
from pipelines.resources import WarehouseResource


@dg.asset_check(asset="gpu_sample", blocking=True, description="One row per GPU (or MIG instance) and time.")
def gpu_sample_unique_keys(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(ts) AS t FROM gpu_sample").item())
    dupes = wh.query(
        "SELECT count(*) AS n FROM (SELECT site, gpu_uuid, gpu_instance_id, ts FROM gpu_sample "
        "WHERE ts >= ? AND ts < ? GROUP BY ALL HAVING count(*) > 1)",
        [start, end],
    ).item()
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_keys": int(dupes), "from": str(start)})


@dg.asset_check(
    asset="gpu_sample", blocking=True, description="Utilisation within 0..1, power and energy not negative."
)
def gpu_sample_ranges(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    start, end = check_window(context, wh.query("SELECT max(ts) AS t FROM gpu_sample").item())
    bad = wh.query(
        "SELECT count(*) FILTER (WHERE util_ratio < 0 OR util_ratio > 1) AS util, "
        "count(*) FILTER (WHERE power_w < 0) AS power, count(*) FILTER (WHERE energy_j < 0) AS energy, "
        "count(*) FILTER (WHERE interval_s <= 0) AS interval FROM gpu_sample WHERE ts >= ? AND ts < ?",
        [start, end],
    ).row(0, named=True)
    return dg.AssetCheckResult(passed=not any(bad.values()), metadata={k: int(v) for k, v in bad.items()})


@dg.asset_check(
    asset="gpu_hourly",
    description="Every GPU-hour before the latest is at least 90 % covered by samples (warns on silent GPUs).",
)
def gpu_hourly_coverage(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.warehouse
    latest = wh.query("SELECT max(hour) AS t FROM gpu_hourly").item()
    start, end = check_window(context, latest)
    low = wh.query(
        "SELECT site, gpu_uuid, hour, sample_s FROM gpu_hourly WHERE hour >= ? AND hour < ? AND hour < ? "
        "AND sample_s < 0.9 * 3600 ORDER BY hour, site, gpu_uuid",
        [start, end, latest],
    )
    return dg.AssetCheckResult(
        passed=low.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "low_coverage_gpu_hours": low.height,
            "examples": dg.MarkdownMetadataValue(_md(low.head(10).rows())),
        },
    )


def _md(rows: list[tuple[object, ...]]) -> str:
    if not rows:
        return "none"
    return "\n".join(f"- {r[0]} {r[1]} {r[2]}: {float(r[3]):.0f} s" for r in rows)  # type: ignore[arg-type]

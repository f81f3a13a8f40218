"""Facility assets: the meter inbox sweep, readings, energy per meter and hour, PUE per hour, day, month, TTM."""

import dagster as dg
import polars as pl

from collectors.facility.ingest import ingest_meter_inbox
from collectors.facility.registry import MeterRegistry, load_meters
from pipelines.defs.common import HOUR, hours_in, naive, table_asset
from pipelines.defs.inbox import ingest_metadata
from pipelines.lib.frames import conform_to_table
from pipelines.lib.pue import meter_energy_hourly as meter_energy
from pipelines.lib.pue import pue_hourly as pue_of_hours
from pipelines.lib.pue import pue_rolling_12m as pue_ttm
from pipelines.lib.pue import pue_rollup
from pipelines.lib.sites import site_timezones
from pipelines.resources import DataRootResource, WarehouseResource


def _registry(site_root: DataRootResource) -> MeterRegistry:
    return load_meters(site_root.data_root.meters_file)


@dg.asset(
    name="meter_csv_inbox",
    group_name="facility",
    kinds={"csv", "parquet"},
    metadata={"inbox": "inbox/meter_csv/<site>/", "landing": "landing/facility/"},
    tags={"domain": "facility", "cadence": "ingest"},
)
def meter_csv_inbox(context: dg.AssetExecutionContext, site_root: DataRootResource) -> dg.MaterializeResult[None]:
    """Sweep the meter inbox: every BMS/DCIM export is read once against the meter registry (meters.yaml),
    its readings landed by content hash, the original archived; unreadable files quarantined with a reason.
    Touched hours include the hour before each file (its last interval ends at the file's first reading)."""
    root = site_root.data_root
    report = ingest_meter_inbox(root, _registry(site_root), timezones=site_timezones(root.sites_file))
    for name, reason in report.quarantined.items():
        context.log.warning(f"quarantined {name}: {reason}")
    return dg.MaterializeResult(metadata=ingest_metadata(report, spill=(-1, 0)))


@table_asset("meter_reading", group="facility", deps=["meter_csv_inbox"], kinds={"polars", "duckdb"})
def meter_reading(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Meter readings of the hour with each meter's role from the registry; duplicates (the same meter and
    time in two exports) kept once."""
    registry = _registry(site_root)
    roles = pl.DataFrame(
        {"meter_id": [m.id for m in registry.meters], "role": [m.role for m in registry.meters]}
    ).unique("meter_id", keep="last")
    landing = site_root.landing
    wh = warehouse.warehouse
    rows = 0
    with wh.session():
        for hour in hours_in(context.partition_time_window):
            landed = landing.read_hour("facility", hour).unique(
                ["site", "meter_id", "ts"], keep="first", maintain_order=True
            )
            frame = conform_to_table("meter_reading", landed.join(roles, on="meter_id", how="left"))
            rows += wh.replace_partition("meter_reading", frame, hour, hour + HOUR)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@table_asset("meter_energy_hourly", group="facility", deps=["meter_reading"], kinds={"polars", "duckdb"})
def meter_energy_hourly(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Energy per meter and hour from cumulative registers (resets, wraps, gaps and implausible jumps
    handled; coverage recorded) or from power readings integrated over time."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    readings = site_root.landing.read_range("facility", window.start - HOUR, window.end + HOUR)
    frame = meter_energy(readings, _registry(site_root), start=start, end=end)
    rows = warehouse.warehouse.replace_partition("meter_energy_hourly", frame, start, end)
    coverage = frame.select(pl.col("coverage_ratio").mean()).item() if frame.height else None
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "mean_coverage": dg.FloatMetadataValue(round(float(coverage), 4) if coverage is not None else 0.0),
            "resets": int(frame.get_column("resets").sum()) if frame.height else 0,
        }
    )


@table_asset("pue_hourly", group="facility", deps=["meter_energy_hourly", "gpu_hourly"], kinds={"polars", "duckdb"})
def pue_hourly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """PUE per site and hour = facility energy / IT energy of the same hour, with the metering category of
    the IT side and the share of the hour both sides were measured; IT energy split into GPU and the rest."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        meters = wh.read_partition("meter_energy_hourly", start, end)
        gpu = wh.query(
            # Ordered sum: the same float result however the rows happen to be stored (re-runs are byte-identical).
            "SELECT site, hour, sum(energy_kwh ORDER BY gpu_uuid) AS gpu_kwh FROM gpu_hourly "
            "WHERE hour >= ? AND hour < ? GROUP BY ALL ORDER BY ALL",
            [start, end],
        )
        frame = pue_of_hours(meters, gpu)
        rows = wh.replace_partition("pue_hourly", frame, start, end)
    valid = frame.filter(pl.col("pue").is_not_null())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "pue_min": dg.FloatMetadataValue(round(float(valid["pue"].min() or 0.0), 4)),  # type: ignore[arg-type]
            "pue_max": dg.FloatMetadataValue(round(float(valid["pue"].max() or 0.0), 4)),  # type: ignore[arg-type]
            "low_coverage_hours": int(frame.get_column("low_coverage").sum()) if frame.height else 0,
        }
    )


@table_asset("pue_daily", group="facility", deps=["pue_hourly"], kinds={"polars", "duckdb"})
def pue_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """PUE per site and UTC day from summed hourly energies (never a mean of hourly ratios)."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        frame = pue_rollup(wh.read_partition("pue_hourly", start, end), "day")
        rows = wh.replace_partition("pue_daily", frame, start.date(), end.date())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@table_asset("pue_monthly", group="facility", deps=["pue_hourly"], kinds={"polars", "duckdb"})
def pue_monthly(warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """PUE per site and calendar month from summed hourly energies, recomputed from every hourly row (a
    month is at most 744 rows per site, so a full recompute is cheaper than tracking which months changed)."""
    wh = warehouse.warehouse
    with wh.session():
        monthly = pue_rollup(wh.query("SELECT * FROM pue_hourly ORDER BY site, hour"), "month")
        rows = wh.replace_all("pue_monthly", monthly)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@table_asset("pue_rolling_12m", group="facility", deps=["pue_monthly"], kinds={"polars", "duckdb"})
def pue_rolling_12m(warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Trailing-twelve-month PUE per site, the headline figure an operator reports (Japan's benchmark: 1.4 by
    FY2030); marked 'interim' while less than the coverage threshold of the year is measured."""
    wh = warehouse.warehouse
    with wh.session():
        rolling = pue_ttm(wh.query("SELECT * FROM pue_monthly ORDER BY site, month"))
        rows = wh.replace_all("pue_rolling_12m", rolling)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})

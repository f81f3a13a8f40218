"""RAN assets: the PM inbox sweep, PM records in the warehouse, hourly cell and gNB KPIs."""

import datetime as dt

import dagster as dg
import polars as pl

from collectors.ran.ingest import ingest_pm_inbox
from pipelines.defs.common import HOUR, hours_in, naive, table_asset
from pipelines.defs.inbox import ingest_metadata
from pipelines.lib.frames import conform_to_table
from pipelines.lib.ran_kpi import cell_kpis_hourly, gnb_kpis_hourly
from pipelines.lib.warehouse import Warehouse
from pipelines.resources import DataRootResource, WarehouseResource
from pipelines.tables import table

#: Longest measurement period read back when computing an hour: a period that started this long before the
#: hour can still overlap it (TS 28.552 granularities are 5, 15, 30 or 60 minutes).
MAX_PERIOD = dt.timedelta(hours=1)


@dg.asset(
    name="ran_pm_inbox",
    group_name="ran",
    kinds={"xml", "json", "parquet"},
    metadata={"inbox": "inbox/ran_pm/<site>/", "landing": "landing/ran_pm/"},
    tags={"domain": "ran", "cadence": "ingest"},
)
def ran_pm_inbox(context: dg.AssetExecutionContext, site_root: DataRootResource) -> dg.MaterializeResult[None]:
    """Sweep the RAN PM inbox: every new file (TS 32.435 / 28.532 XML, VES JSON, OAI, srsRAN) is parsed once,
    its records landed by content hash in the hours its periods start in, the original archived; a file that
    cannot be read is quarantined with a reason file (listed in this materialisation's metadata)."""
    report = ingest_pm_inbox(site_root.data_root)
    for name, reason in report.quarantined.items():
        context.log.warning(f"quarantined {name}: {reason}")
    return dg.MaterializeResult(metadata=ingest_metadata(report, spill=(0, 1)))


@table_asset("ran_pm_record", group="ran", deps=["ran_pm_inbox"], kinds={"polars", "duckdb"})
def ran_pm_record(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """RAN counters of the hour (by period start) in canonical units; the same counter delivered by two
    files (a corrected re-export) is kept once, from the file whose name sorts last."""
    landing = site_root.landing
    wh = warehouse.warehouse
    key = list(table("ran_pm_record").key)
    rows = files = 0
    with wh.session():
        for hour in hours_in(context.partition_time_window):
            landed = landing.read_hour("ran_pm", hour)
            files += landed.select("source_file").n_unique() if landed.height else 0
            frame = conform_to_table(
                "ran_pm_record", landed.sort("source_file").unique(subset=key, keep="last", maintain_order=True)
            )
            rows += wh.replace_partition("ran_pm_record", frame, hour, hour + HOUR)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "source_files": files})


def _records(wh: Warehouse, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """PM records whose periods can overlap [start, end), plus the hour before for differencing cumulative
    energy counters."""
    return wh.read_partition("ran_pm_record", naive(start - MAX_PERIOD), naive(end))


@table_asset("ran_cell_hourly", group="ran", deps=["ran_pm_record"], kinds={"polars", "duckdb"})
def ran_cell_hourly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Hourly KPIs per NR cell: PRB utilisation DL/UL, UE throughput, PDCP volume, RRC connections, active
    UEs — periods weighted by their overlap with the hour, suspect periods left out."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        frame = cell_kpis_hourly(_records(wh, window.start, window.end), start=start, end=end)
        rows = wh.replace_partition("ran_cell_hourly", frame, start, end)
    covered = frame.select(pl.col("covered_s").mean()).item() if frame.height else None
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "cells": frame.select("site", "managed_element", "cell").n_unique() if frame.height else 0,
            "mean_covered_s": dg.FloatMetadataValue(round(float(covered), 1) if covered is not None else 0.0),
        }
    )


@table_asset("ran_gnb_hourly", group="ran", deps=["ran_pm_record"], kinds={"polars", "duckdb"})
def ran_gnb_hourly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Hourly energy (PEE) and energy efficiency per gNB: PDCP data volume / energy in bit/J (TS 28.554)."""
    window = context.partition_time_window
    start, end = naive(window.start), naive(window.end)
    wh = warehouse.warehouse
    with wh.session():
        frame = gnb_kpis_hourly(_records(wh, window.start, window.end), start=start, end=end)
        rows = wh.replace_partition("ran_gnb_hourly", frame, start, end)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})

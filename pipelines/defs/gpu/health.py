"""GPU health events: reported by the collectors, and derived from the samples (ECC, row remapping, gaps)."""

import dagster as dg

from pipelines.defs.common import HOUR, LANDING_GPU_HEALTH, hours_in, naive, table_asset
from pipelines.lib.bulk import tune_session
from pipelines.lib.health import DERIVED_EVENTS_SQL, combine, reported_events
from pipelines.resources import DataRootResource, WarehouseResource


@table_asset("gpu_health_events", group="gpu", deps=[LANDING_GPU_HEALTH.key, "gpu_sample"], kinds={"polars", "duckdb"})
def gpu_health_events(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Health events per hour: what the NVML agent and dcgm-exporter reported (Xid, lost GPU, reset required),
    plus what only the samples show — new uncorrectable ECC errors, row remapping pending or failed, and
    telemetry gaps longer than three sampling intervals."""
    landing = site_root.landing
    wh = warehouse.warehouse
    rows = 0
    by_event: dict[str, int] = {}
    critical = 0
    with wh.session():
        tune_session(wh)
        for hour in hours_in(context.partition_time_window):
            start, end = naive(hour), naive(hour + HOUR)
            reported = reported_events(landing.read_hour("gpu_health", hour))
            derived = wh.query(DERIVED_EVENTS_SQL, [start, end, start - HOUR, start, start])
            frame = combine(reported, derived)
            rows += wh.replace_partition("gpu_health_events", frame, start, end)
            for event, count in frame.get_column("event").value_counts().iter_rows():
                by_event[str(event)] = by_event.get(str(event), 0) + int(count)
            critical += int((frame.get_column("severity") == "critical").sum())
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "events_by_kind": by_event, "critical_events": critical}
    )

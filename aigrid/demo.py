"""``aigrid demo``: simulate a day of a two-site AI grid, run every asset, publish, summarise.

The stages are the ones a production deployment runs on schedules and sensors: inbox ingest, hourly facts,
daily marts, then the unpartitioned downstream assets (inventories, the serving file, dashboards).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from aigrid.runner import Stage, dagster_instance, run_stage
from collectors.layout import DataRoot
from collectors.simulator.run import Progress, simulate
from collectors.simulator.world import SimConfig
from pipelines.definitions import build_definitions
from pipelines.partitions import DAILY, HOURLY

STAGES: tuple[Stage, ...] = (
    Stage("configuration and inbox ingest", dg.AssetSelection.tag("cadence", "ingest")),
    Stage("dimensions", dg.AssetSelection.assets("dim_site", "dim_tenant")),
    Stage("hourly facts", dg.AssetSelection.tag("cadence", "hourly"), HOURLY),
    Stage("daily marts", dg.AssetSelection.tag("cadence", "daily"), DAILY),
    Stage(
        "inventories, serving file and dashboards",
        dg.AssetSelection.tag("cadence", "on_change") - dg.AssetSelection.assets("dim_site", "dim_tenant"),
    ),
)


@dataclass
class DemoReport:
    root: DataRoot
    span: tuple[dt.datetime, dt.datetime]
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, object] = field(default_factory=dict)


def run_demo(
    config: SimConfig,
    root: DataRoot,
    dagster_home: Path,
    progress: Progress | None = None,
    stage_progress: Progress | None = None,
) -> DemoReport:
    """Re-create the data root, simulate into it, and materialise every asset through Dagster."""
    if root.path.exists():
        shutil.rmtree(root.path)
    report = DemoReport(root, (config.span_start, config.span_end))
    t = time.perf_counter()
    simulate(config, root, progress)
    report.timings["simulate"] = time.perf_counter() - t
    instance = dagster_instance(dagster_home)
    defs = build_definitions(str(root.path))
    for i, stage in enumerate(STAGES):
        if stage_progress:
            stage_progress(stage.title, i, len(STAGES))
        t = time.perf_counter()
        if _selects_anything(defs, stage.selection):
            run_stage(defs, stage, instance, config.span_start, config.span_end)
        report.timings[stage.title] = time.perf_counter() - t
    if stage_progress:
        stage_progress("done", len(STAGES), len(STAGES))
    report.summary = summarise(root.serving_db)
    return report


def _selects_anything(defs: dg.Definitions, selection: dg.AssetSelection) -> bool:
    graph = defs.resolve_asset_graph()
    return bool(selection.resolve(graph))


def summarise(serving: Path) -> dict[str, object]:
    """The answers the demo prints, read from the serving file the way any reader would (read-only)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        util = con.execute(
            "SELECT sum(busy_s) / nullif(sum(sample_s), 0), count(DISTINCT gpu_uuid) FROM gpu_hourly"
        ).fetchone()
        pue = con.execute(
            "SELECT site, sum(facility_kwh) / nullif(sum(it_kwh), 0) AS pue, min(pue), max(pue), "
            "sum(facility_kwh), sum(it_kwh) FROM pue_hourly GROUP BY site ORDER BY site"
        ).fetchall()
        tenants = con.execute(
            "SELECT tenant, sum(gpu_hours) AS gh, sum(gpu_energy_kwh) AS kwh, sum(facility_energy_kwh) AS fkwh "
            "FROM tenant_usage_hourly GROUP BY tenant ORDER BY gh DESC"
        ).fetchall()
        ran = con.execute(
            "SELECT sum(u.gpu_hours) FILTER (WHERE t.kind = 'ran') / nullif(sum(u.gpu_hours) "
            "FILTER (WHERE t.kind IN ('ran', 'ai', 'unattributed')), 0), "
            "sum(u.gpu_hours) FILTER (WHERE t.kind = 'ran') / nullif(sum(u.gpu_hours), 0) "
            "FROM tenant_usage_hourly u LEFT JOIN dim_tenant t USING (tenant)"
        ).fetchone()
        health = con.execute("SELECT count(*) FILTER (WHERE samples < 0.9 * 3600 / 30) FROM gpu_hourly").fetchone()
    finally:
        con.close()
    root = serving.parent.parent
    quarantine = {
        kind: len(list((root / "quarantine" / kind).rglob("*.reason.json")))
        for kind in ("ran_pm", "meter_csv")
        if (root / "quarantine" / kind).is_dir()
    }
    return {
        "gpu_hours_incomplete": None if health is None else health[0],
        "quarantined": quarantine,
        "fleet_util": None if util is None else util[0],
        "gpus": 0 if util is None else util[1],
        "pue": pue,
        "tenants": tenants,
        "ran_share_of_allocated": None if ran is None else ran[0],
        "ran_share_of_fleet": None if ran is None else ran[1],
    }

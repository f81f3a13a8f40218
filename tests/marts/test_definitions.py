"""The Dagster code location: every mart asset described and checked, schedules with the late-data lag, freshness
per partition, single-run backfills; and checks that really fail on a broken mart."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import build_definitions
from pipelines.defs.automation import DAILY_AUTOMATION, late_run_request
from pipelines.tables import TABLES
from tests.marts.conftest import MartRun

MARTS = [
    "gpu_sample",
    "gpu_hourly",
    "gpu_daily",
    "node_daily",
    "gpu_health_events",
    "gpu_last",
    "dim_gpu",
    "gpu_tenant_hourly",
    "tenant_usage_hourly",
    "tenant_usage_daily",
    "tenant_usage_monthly",
    "ai_ran_share_hourly",
    "data_quality",
    "dim_tenant",
    "dim_tariff",
    "dim_site",
]


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    return build_definitions(str(tmp_path_factory.mktemp("defs")))


def test_every_mart_is_an_asset_with_description_group_kinds_and_the_writer_pool(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for name in MARTS:
        node = graph.get(dg.AssetKey(name))
        assert node.description, name
        assert node.group_name in {"gpu", "tenancy", "quality", "serving"}, name
        assert node.kinds, name
        assert name in TABLES
    for assets_def in defs.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition):
            continue  # the landing zone: written by collectors outside Dagster
        for spec in assets_def.specs:
            if spec.key.path[0] in MARTS:
                assert assets_def.op.pool == "duckdb_writer", spec.key


def test_every_mart_has_a_unique_key_check_and_the_invariants_are_blocking(defs: dg.Definitions) -> None:
    all_specs = [s for c in defs.asset_checks or [] for s in c.check_specs]  # type: ignore[union-attr]
    specs = {s.key.name: s for s in all_specs}
    for name in MARTS:
        assert f"{name}_unique_keys" in specs, name
    for blocking in ("tenant_usage_reconciles", "gpu_tenant_hourly_reconciles", "gpu_sample_unique_keys"):
        assert specs[blocking].blocking, blocking
    assert not specs["tenant_usage_mostly_attributed"].blocking
    freshness = {s.asset_key.to_user_string() for s in all_specs if s.key.name == "freshness_check"}
    assert len(freshness) == 17  # thirteen hourly and four daily assets, each with its own deadline


def test_hourly_assets_backfill_in_one_run_and_daily_ones_follow_late_hours(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    hourly = dg.AssetSelection.tag("cadence", "hourly").resolve(graph)
    assert {k.to_user_string() for k in hourly} == {
        "gpu_sample",
        "gpu_health_events",
        "gpu_hourly",
        "gpu_tenant_hourly",
        "tenant_usage_hourly",
        "ai_ran_share_hourly",
        "data_quality",
        "quarantined_file",
        "collector_health_hourly",
        "ran_pm_record",
        "ran_cell_hourly",
        "ran_gnb_hourly",
        "meter_reading",
        "meter_energy_hourly",
        "pue_hourly",
    }
    for key in hourly:
        node = graph.get(key)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert isinstance(node.partitions_def, dg.HourlyPartitionsDefinition)
    for name in ("gpu_daily", "node_daily", "tenant_usage_daily", "pue_daily"):
        assert graph.get(dg.AssetKey(name)).automation_condition == DAILY_AUTOMATION


def test_schedules_run_each_hour_with_a_lag_and_rerun_the_hour_before_last(defs: dg.Definitions) -> None:
    names = ("hourly_facts_schedule", "daily_marts_schedule", "hourly_facts_late_schedule")
    crons = {name: defs.resolve_schedule_def(name).cron_schedule for name in names}
    assert crons == {
        "hourly_facts_schedule": "20 * * * *",
        "daily_marts_schedule": "30 1 * * *",
        "hourly_facts_late_schedule": "50 * * * *",
    }
    request = late_run_request(dt.datetime(2026, 11, 20, 10, 50, tzinfo=dt.UTC))
    assert request.partition_key == "2026-11-20-08:00"
    assert {s.name for s in defs.sensors or []} == {  # type: ignore[union-attr]
        "aigrid_automation",
        "aigrid_freshness",
        "ran_pm_inbox_sensor",
        "ran_pm_inbox_touched_hours_sensor",
        "meter_csv_inbox_sensor",
        "meter_csv_inbox_touched_hours_sensor",
    }


def test_checks_fail_when_a_mart_breaks_the_invariant(mart_run: MartRun, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(mart_run.root.path, root)
    con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"))
    try:
        # Bill alpha twice for one hour: a duplicate key and an hour whose tenants exceed the metered GPU time.
        con.execute(
            "INSERT INTO tenant_usage_hourly SELECT * FROM tenant_usage_hourly "
            "WHERE tenant = 'alpha' AND hour = TIMESTAMP '2026-11-20 10:00:00'"
        )
    finally:
        con.close()
    defs = build_definitions(str(root))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*(defs.assets or []), *(defs.asset_checks or [])],  # type: ignore[list-item]
            instance=instance,
            resources=defs.resources,
            selection=dg.AssetSelection.checks_for_assets("tenant_usage_hourly"),
            raise_on_error=False,
        )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["tenant_usage_hourly_unique_keys"].passed
    assert not evaluations["tenant_usage_reconciles"].passed
    assert evaluations["tenant_usage_hourly_ranges"].passed
    assert evaluations["tenant_usage_reconciles"].metadata["offending_rows"].value == 1

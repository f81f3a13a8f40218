"""Inbox automation: a drop launches the sweep; a sweep's touched hours (late files too) are re-run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import dagster as dg

from aigrid.demo import STAGES
from aigrid.runner import dagster_instance, run_stage
from collectors.layout import DataRoot
from collectors.simulator.run import simulate
from collectors.simulator.world import SimConfig
from pipelines.definitions import build_definitions
from pipelines.resources import DataRootResource

START = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)


def _sensor(defs: dg.Definitions, name: str) -> dg.SensorDefinition:
    return next(s for s in defs.sensors or [] if s.name == name)  # type: ignore[union-attr]


def test_a_waiting_pm_file_launches_the_sweep_and_an_empty_inbox_skips(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path / "root")
    defs = build_definitions(str(root.path))
    sensor = _sensor(defs, "ran_pm_inbox_sensor")
    resources = {"site_root": DataRootResource(root=str(root.path))}
    with dg.instance_for_test() as instance:
        empty = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources, definitions=defs))
        assert empty.run_requests == []
        assert "empty" in (empty.skip_message or "")
        drop = root.inbox("ran_pm") / "tyo1"
        drop.mkdir(parents=True)
        sample = Path(__file__).parents[1] / "fixtures/samples/ran/A20181002.0000-1000-0015-1000_5G.xml"
        shutil.copyfile(sample, drop / sample.name)
        old = dt.datetime.now().timestamp() - 60
        os.utime(drop / sample.name, (old, old))
        got = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources, definitions=defs))
    assert len(got.run_requests) == 1
    assert got.run_requests[0].asset_selection == [dg.AssetKey("ran_pm_inbox")]


def test_touched_hours_become_partition_run_requests_including_a_late_file(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path / "root")
    simulate(SimConfig(sites=1, nodes=2, cells=3, tenants=2, hours=2, start=START, faults=False), root)
    # A PM file from two days earlier arrives late, with the on-time ones.
    late = root.inbox("ran_pm") / "tyo1"
    original = sorted(late.glob("*.xml"))[0]
    shifted = original.read_text().replace("2026-11-20T", "2026-11-18T")
    (late / original.name.replace("A20261120", "A20261118")).write_text(shifted)
    defs = build_definitions(str(root.path))
    instance = dagster_instance(tmp_path / "dagster_home")
    ingest = next(s for s in STAGES if s.title == "configuration and inbox ingest")
    run_stage(defs, ingest, instance, START, START)
    event = instance.get_latest_materialization_event(dg.AssetKey("ran_pm_inbox"))
    assert event is not None
    sensor = _sensor(defs, "ran_pm_inbox_touched_hours_sensor")
    requests = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs)).run_requests
    keys = sorted(r.partition_key for r in requests if r.partition_key)
    # Hours are the periods' start hours plus the next one (a period may run past its hour).
    assert keys == ["2026-11-18-03:00", "2026-11-18-04:00", "2026-11-20-03:00", "2026-11-20-04:00", "2026-11-20-05:00"]
    assert all(r.job_name in (None, "ran_inbox_hours") for r in requests)

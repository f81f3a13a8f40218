"""The hand-made site of ``scenario.py`` run through every Dagster asset once per test session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from collectors.layout import DataRoot
from tests.marts import scenario


@dataclass(frozen=True)
class MartRun:
    root: DataRoot
    dagster_home: Path

    @contextmanager
    def serving(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.root.serving_db), read_only=True)
        try:
            yield con
        finally:
            con.close()


def run_pipeline(root: DataRoot, home: Path, start: dt.datetime, end: dt.datetime) -> None:
    """Every stage the demo runs (dimensions, hourly facts, daily marts, on-change assets) over [start, end).

    The facility and RAN assets are left out: the scenario writes their tables itself (``fill_facility_and_ran``)
    so that the marts see hand-chosen PUE and cell values.
    """
    from dataclasses import replace

    import dagster as dg

    from aigrid.demo import STAGES
    from aigrid.runner import dagster_instance, run_stage
    from pipelines.definitions import build_definitions

    defs = build_definitions(str(root.path))
    instance = dagster_instance(home)
    graph = defs.resolve_asset_graph()
    outside = dg.AssetSelection.groups("facility", "ran")
    for stage in STAGES:
        stage = replace(stage, selection=stage.selection - outside)
        if stage.selection.resolve(graph):
            run_stage(defs, stage, instance, start, end)


@pytest.fixture(scope="session")
def mart_run(tmp_path_factory: pytest.TempPathFactory) -> MartRun:
    base = tmp_path_factory.mktemp("marts")
    root = DataRoot.at(base / "root")
    scenario.build(root)
    run = MartRun(root, base / "dagster_home")
    run_pipeline(root, run.dagster_home, scenario.H0, scenario.H0 + dt.timedelta(hours=2))
    return run

"""One small demo run shared by the end-to-end tests (simulate → every Dagster asset → serving file)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.layout import DataRoot
from collectors.simulator.world import SimConfig

START = dt.datetime(2026, 11, 19, 22, 0, tzinfo=dt.UTC)  # spans a UTC day boundary
HOURS = 4


@dataclass(frozen=True)
class DemoRun:
    config: SimConfig
    root: DataRoot
    dagster_home: Path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """2 sites × 2 nodes × 8 GPUs, 3 cells, 3 tenants + RAN, 4 hours, no faults (so truth is exact)."""
    from aigrid.demo import run_demo

    base = tmp_path_factory.mktemp("demo")
    config = SimConfig(sites=2, nodes=2, cells=3, tenants=3, hours=HOURS, start=START, seed=11, faults=False)
    root = DataRoot.at(base / "root")
    home = base / "dagster_home"
    run_demo(config, root, home)
    return DemoRun(config, root, home)

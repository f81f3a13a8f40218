"""A user mistake inside the pipeline (a broken tenants.yaml) is one clear error, not a Dagster traceback."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from aigrid.demo import STAGES
from aigrid.runner import dagster_instance, run_stage
from collectors.errors import ConfigError
from collectors.layout import DataRoot
from collectors.simulator.run import simulate
from collectors.simulator.world import SimConfig
from pipelines.definitions import build_definitions

START = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)


def test_a_broken_tenants_file_stops_the_run_with_the_file_and_field_named(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path / "root")
    simulate(SimConfig(sites=1, nodes=2, cells=3, tenants=2, hours=1, start=START, faults=False), root)
    text = root.tenants_file.read_text().replace("kind: ran", "kind: radio")
    root.tenants_file.write_text(text)
    defs = build_definitions(str(root.path))
    instance = dagster_instance(tmp_path / "dagster_home")
    dims = next(s for s in STAGES if s.title == "dimensions")
    with pytest.raises(ConfigError) as info:
        run_stage(defs, dims, instance, START, START + dt.timedelta(hours=1))
    assert info.value.field == "tenants[ai-ran].kind"
    assert str(root.tenants_file) in str(info.value)


def test_the_cli_prints_one_line_for_bad_flags() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "aigrid", "simulate", "--sites", "9", "--root", "/nonexistent/x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == "error: --sites must be between 1 and 4"

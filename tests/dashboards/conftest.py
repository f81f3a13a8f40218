"""Fixtures for the dashboard tests: the committed dashboards and a published serving file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboards.generate import build
from dashboards.render import GENERATED_DIR
from dashboards.verify import Checker, Scenario, load_dashboards
from tests.dashboards.fake_grafana import grafana  # noqa: F401  (a fixture)
from tests.dashboards.serving_fixture import serving_db


@pytest.fixture(scope="session")
def serving_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture serving file, published once per session (read-only use only)."""
    return serving_db(tmp_path_factory.mktemp("serving"))


@pytest.fixture
def serving_con(serving_file: Path) -> Any:
    con = duckdb.connect(str(serving_file), read_only=True)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def committed() -> list[dict[str, Any]]:
    """The dashboards as committed under dashboards/generated (what operators provision)."""
    found = load_dashboards(GENERATED_DIR)
    assert found, f"no dashboards under {GENERATED_DIR}; run `aigrid dashboards build`"
    return found


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    """A fresh build of the dashboards in a temporary folder."""
    out = tmp_path / "generated"
    build(out)
    return out


def by_uid(dashboards: list[dict[str, Any]], uid: str) -> dict[str, Any]:
    return next(d for d in dashboards if d["uid"] == uid)


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in dashboard["panels"] if p.get("title") == title and p["type"] != "row")


def panel_rows(con: duckdb.DuckDBPyConnection, d: dict[str, Any], title: str, scenario: Scenario) -> list[Any]:
    """Rows of one panel under a scenario, with the variables resolved as the verifier does."""
    checker = Checker(con, d, scenario)
    states = checker.variables()
    assert states is not None, checker.report.problems
    p = panel(d, title)
    return checker.run(p, p["targets"][0], states).rows

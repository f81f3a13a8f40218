"""Every panel and variable query, expanded as the plugin does, run on a published serving file."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboards.catalogue import dashboards
from dashboards.interpolation import TimeRange, VariableState
from dashboards.render import render_dashboard
from dashboards.variables import Vocabulary
from dashboards.verify import (
    Checker,
    Scenario,
    check_result,
    data_end,
    default_scenarios,
    verify_all,
)
from tests.dashboards import serving_fixture as fx
from tests.dashboards.conftest import by_uid, panel, panel_rows

END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = Scenario("24h, All", TimeRange(END - dt.timedelta(hours=24), END), "1m", "all")


def _panel_count(dashboards_: list[dict[str, Any]]) -> int:
    return sum(1 for d in dashboards_ for p in d["panels"] if p["type"] != "row")


def _variable_count(dashboards_: list[dict[str, Any]]) -> int:
    return sum(1 for d in dashboards_ for v in d["templating"]["list"] if v["type"] == "query")


def test_every_query_of_every_dashboard_runs_and_suits_its_panel(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    assert data_end(serving_con) == END
    report = verify_all(serving_con, committed)
    assert not report.problems, "\n".join(str(p) for p in report.problems)
    scenarios = len(default_scenarios(END))
    assert report.panels == scenarios * _panel_count(committed) == 4 * 69
    assert report.queries == scenarios * (_panel_count(committed) + _variable_count(committed))


def test_a_broken_panel_query_names_the_dashboard_and_the_panel(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    broken = copy.deepcopy(committed)
    target = panel(by_uid(broken, "aigrid-fleet"), "Fleet utilisation")["targets"][0]
    target["rawSql"] = target["rawSql"].replace("sum(busy_s)", "sum(busy_seconds)")
    report = verify_all(serving_con, broken)
    assert report.problems
    assert {(p.dashboard, p.panel) for p in report.problems} == {
        ("AI grid · Fleet utilisation (aigrid-fleet)", "panel 'Fleet utilisation' (id 2)")
    }
    first = str(report.problems[0])
    assert first.startswith("dashboard 'AI grid · Fleet utilisation (aigrid-fleet)', panel 'Fleet utilisation' (id 2)")
    assert "busy_seconds" in first


def test_a_broken_variable_query_is_named_too(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    broken = copy.deepcopy(by_uid(committed, "aigrid-airan"))
    broken["templating"]["list"][0]["query"] = "SELECT sites FROM dim_site"
    report = verify_all(serving_con, [broken], [DAY])
    assert [p.panel for p in report.problems] == ["variable 'site'"]
    assert "sites" in report.problems[0].message


def _rows(con: duckdb.DuckDBPyConnection, d: dict[str, Any], title: str, scenario: Scenario = DAY) -> list[Any]:
    return panel_rows(con, d, title, scenario)


def test_panels_compute_what_they_say(serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]) -> None:
    fleet, energy = by_uid(committed, "aigrid-fleet"), by_uid(committed, "aigrid-energy")
    tenants, health = by_uid(committed, "aigrid-tenants"), by_uid(committed, "aigrid-gpu-health")
    # 24 GPUs; 2 idle and unheld (tyo1-gpu03 #2, #3); 5 silent (1 lost + the 4 of osa1-gpu03).
    assert _rows(serving_con, fleet, "GPUs now") == [(24, 17, 17, 0, 2, 5)]
    # Σ facility / Σ IT over both sites and six hours (hourly PUEs 1.30..1.40 and 1.40..1.50).
    (pue,) = _rows(serving_con, energy, "PUE")[0]
    assert pue == pytest.approx(1.40)
    # 5 + 3 + 2 GPU-hours per site-hour without the idle and unattributed lines: 10 × 6 h × 2 sites.
    assert _rows(serving_con, tenants, "Month to date")[0][0] == pytest.approx(120.0)
    lost = _rows(serving_con, health, "Lost GPUs")
    assert [(r[1], r[2], r[6]) for r in lost] == [
        ("osa1-gpu01", 3, 12000),
        ("osa1-gpu03", 0, 5400),
        ("osa1-gpu03", 1, 5400),
        ("osa1-gpu03", 2, 5400),
        ("osa1-gpu03", 3, 5400),
    ]
    assert [r[:3] for r in _rows(serving_con, health, "Silent nodes")] == [("osa1", "osa1-gpu03", 4)]
    # The statement adds up to the metered GPU energy of the tenancy table, idle and unattributed included.
    statement = _rows(serving_con, tenants, "Tenant statement")
    assert [r[0] for r in statement] == ["sakura-ai", "kyoto-univ", "ai-ran", "idle", "unattributed"]
    total = serving_con.sql("SELECT sum(gpu_energy_kwh) FROM tenant_usage_hourly").fetchone()
    assert total is not None
    assert sum(r[6] for r in statement) == pytest.approx(total[0])
    # osa1 has no PUE for 07:00: each tenant's GPU-hours of that one site-hour are without PUE.
    assert {r[0]: r[9] for r in statement} == {t: gpu_hours for t, _n, _k, gpu_hours, _e in fx.TENANTS}


def test_single_selection_narrows_every_chained_variable(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    first = Scenario("24h, first", DAY.time_range, "1m", "first")
    checker = Checker(serving_con, by_uid(committed, "aigrid-fleet"), first)
    states = checker.variables()
    assert states is not None
    assert states["site"].value == ("osa1",)
    assert states["node"].options == ("osa1-gpu01", "osa1-gpu02", "osa1-gpu03")
    assert states["gpu"].options == tuple(fx._uuid("osa1", 1, i) for i in range(4))
    rows = _rows(serving_con, by_uid(committed, "aigrid-fleet"), "Inventory", first)
    assert [r[:4] for r in rows] == [("osa1", fx.MODEL, 1, 1)]


@pytest.mark.parametrize(
    ("fmt", "columns", "types", "rows", "expected"),
    [
        (1, ["x"], ["HUGEINT"], [(1,)], "HUGEINT: the plugin turns HUGEINT into a string"),
        (1, ["x"], ["UBIGINT"], [(1,)], "unsigned integers are not supported"),
        (1, ["x"], ["INTEGER[]"], [([1],)], "which the plugin does not convert"),
        (0, ["hour", "v"], ["TIMESTAMP", "DOUBLE"], [], "named 'time' first"),
        (0, ["time", "v"], ["TIMESTAMP", "DOUBLE"], [(2, 1.0), (1, 1.0)], "not ordered by time"),
        (0, ["time", "v"], ["TIMESTAMP", "DOUBLE"], [(None, 1.0)], "has NULLs"),
        (0, ["time", "s", "v"], ["TIMESTAMP", "VARCHAR", "DOUBLE"], [(1, "a", 1.0), (1, "a", 2.0)], "long-to-wide"),
        (0, ["time", "s"], ["TIMESTAMP", "VARCHAR"], [(1, "a")], "at least one numeric value"),
    ],
)
def test_check_result_flags_what_the_plugin_refuses(
    fmt: int, columns: list[str], types: list[str], rows: list[Any], expected: str
) -> None:
    problems = check_result({"type": "table"}, fmt, columns, types, rows)
    assert any(expected in p for p in problems), problems


def test_check_result_for_reducing_and_per_row_panels() -> None:
    stat = {"type": "stat", "options": {"reduceOptions": {"calcs": ["lastNotNull"], "values": False}}}
    assert check_result(stat, 1, ["a"], ["BIGINT"], [(1,), (2,)]) == [
        "a stat that reduces fields must return one row, got 2"
    ]
    bars = {"type": "bargauge", "options": {"reduceOptions": {"calcs": ["lastNotNull"], "values": True}}}
    assert check_result(bars, 1, ["a"], ["DOUBLE"], [(1.0,)]) == [
        "a per-row panel needs a name (text) column and a numeric column"
    ]
    assert check_result(bars, 1, ["n", "a"], ["VARCHAR", "DOUBLE"], [("x", 1.0)]) == []


def test_cluster_dashboards_run_where_the_inventory_has_clusters(serving_file: Path, tmp_path: Path) -> None:
    copy_path = tmp_path / "clustered.duckdb"
    shutil.copy(serving_file, copy_path)
    con = duckdb.connect(str(copy_path))
    try:
        con.execute("ALTER TABLE dim_gpu ADD COLUMN cluster VARCHAR")
        con.execute("UPDATE dim_gpu SET cluster = site || CASE WHEN node LIKE '%01' THEN '-a' ELSE '-b' END")
        v = Vocabulary(cluster=True)
        rendered = [render_dashboard(d, v) for d in dashboards(v)]
        report = verify_all(con, rendered)
        assert report.problems == []
        checker = Checker(con, rendered[0], Scenario("first", DAY.time_range, "1m", "first"))
        states = checker.variables()
        assert states is not None
        assert states["cluster"] == VariableState("cluster", ("osa1-a",), True, True, "'__all'", ("osa1-a", "osa1-b"))
        assert states["node"].options == ("osa1-gpu01",)
    finally:
        con.close()

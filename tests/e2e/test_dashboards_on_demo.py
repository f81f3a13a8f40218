"""The generated dashboards against a serving file the demo produced (not a hand-made fixture)."""

from __future__ import annotations

import duckdb

from dashboards.render import GENERATED_DIR
from dashboards.verify import load_dashboards, verify_all
from tests.dashboards.test_dash_duckdb154 import PLUGIN_DUCKDB, _verify_in_plugin_duckdb
from tests.e2e.conftest import DemoRun


def test_every_panel_and_variable_query_runs_on_the_demo_serving_file(demo_run: DemoRun) -> None:
    con = duckdb.connect(str(demo_run.root.serving_db), read_only=True)
    try:
        report = verify_all(con, load_dashboards(GENERATED_DIR))
    finally:
        con.close()
    assert report.problems == []
    assert report.queries > 200


def test_the_plugins_duckdb_reads_the_demo_serving_file_and_runs_every_query(demo_run: DemoRun) -> None:
    code, report = _verify_in_plugin_duckdb(demo_run.root.serving_db, GENERATED_DIR)
    assert report["duckdb"] == PLUGIN_DUCKDB
    assert report["problems"] == []
    assert code == 0

"""Every query of the SQL cookbook (docs/sql.md) runs on a published serving file and answers something."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.marts.conftest import MartRun

COOKBOOK = Path(__file__).parents[2] / "docs" / "sql.md"
QUERIES = re.findall(r"```sql\n(.*?)```", COOKBOOK.read_text(), flags=re.DOTALL)


def test_the_cookbook_has_at_least_ten_questions() -> None:
    assert len(re.findall(r"^### \d+\. ", COOKBOOK.read_text(), flags=re.MULTILINE)) >= 10
    assert len(QUERIES) >= 10


@pytest.mark.parametrize("query", QUERIES, ids=[f"q{i + 1}" for i in range(len(QUERIES))])
def test_cookbook_query_runs_read_only_and_returns_rows(mart_run: MartRun, query: str) -> None:
    with mart_run.serving() as con:
        rows = con.execute(query).fetchall()
    assert rows, query


def test_exact_p95_from_histograms_equals_the_node_day_mart(mart_run: MartRun) -> None:
    per_site_day = QUERIES[2]
    with mart_run.serving() as con:
        got = con.execute(per_site_day).fetchall()
        raw = con.execute(
            "SELECT site, quantile_disc(pct, 0.95) / 100.0 FROM gpu_hourly, range(1, 102) AS r(i), "
            "range(util_hist[i]) AS k(j), LATERAL (SELECT i - 1 AS pct) GROUP BY site"
        ).fetchall()
    assert [(site, p95) for site, _day, p95 in got] == raw

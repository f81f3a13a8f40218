"""Variable interpolation and macro expansion, checked against what Grafana and the plugin produce."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dashboards.interpolation import (
    ALL,
    InterpolationError,
    QueryContext,
    TimeRange,
    VariableState,
    effective_interval,
    expand_macros,
    interpolate_variables,
    render_sql,
    sqlstring,
)

RANGE = TimeRange(
    dt.datetime(2026, 11, 20, 6, 0, 0, 123456, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
)
SITES = ("osa1", "tyo1")


def _site(value: str | tuple[str, ...], *, all_value: str | None = "'__all'") -> QueryContext:
    state = VariableState("site", value, multi=True, include_all=True, all_value=all_value, options=SITES)
    return QueryContext(RANGE, "1h", {"site": state})


def test_sqlstring_quotes_doubles_and_escapes_like_grafana() -> None:
    # Expected strings are the ones in Grafana's formatRegistry tests.
    assert sqlstring("test'value") == "'test''value'"
    assert sqlstring('test"value') == "'test\\\"value'"
    assert sqlstring(["test", "test'value2"]) == "'test','test''value2'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tyo1", "'tyo1'"),
        (("tyo1",), "'tyo1'"),
        (("osa1", "tyo1"), "'osa1','tyo1'"),
        ((ALL,), "'__all'"),
    ],
)
def test_panel_query_variables(value: str | tuple[str, ...], expected: str) -> None:
    assert interpolate_variables("site IN (${site:sqlstring})", _site(value)) == f"site IN ({expected})"


def test_all_without_all_value_lists_every_option() -> None:
    ctx = _site((ALL,), all_value=None)
    assert interpolate_variables("${site:sqlstring}", ctx) == "'osa1','tyo1'"


def test_custom_all_value_is_inserted_raw_whatever_the_format() -> None:
    # Grafana skips formatting of a custom allValue: "__all" would become a column reference.
    assert interpolate_variables("(${site:sqlstring})", _site(ALL, all_value="__all")) == "(__all)"


def test_variable_queries_use_interpolate_variable_by_default() -> None:
    single = QueryContext(RANGE, variables={"node": VariableState("node", "o'brien")})
    assert interpolate_variables("WHERE node = '$node'", single, mode="variable") == "WHERE node = 'o''brien'"
    multi = QueryContext(RANGE, variables={"node": VariableState("node", "n1", multi=True)})
    assert interpolate_variables("IN ($node)", multi, mode="variable") == "IN ('n1')"
    # ...and the explicit format makes both paths equal.
    assert interpolate_variables("${node:sqlstring}", single, mode="variable") == "'o''brien'"


def test_builtins() -> None:
    ctx = QueryContext(RANGE, "1h")
    assert interpolate_variables("$__interval|${__interval:raw}|$__interval_ms", ctx) == "'1h'|1h|'3600000'"
    assert interpolate_variables("${__from:date:iso}", ctx) == "2026-11-20T06:00:00.123Z"
    # `date -u -d @1795176000` prints Fri Nov 20 12:00:00 UTC 2026.
    assert interpolate_variables("${__to:date:seconds}", ctx) == "1795176000"
    assert interpolate_variables("$unknown stays", ctx) == "$unknown stays"


def test_macros_expand_like_the_plugin() -> None:
    assert expand_macros("WHERE $__timeFilter(hour)", RANGE) == (
        "WHERE hour >= '2026-11-20T06:00:00Z' AND hour <= '2026-11-20T12:00:00Z'"
    )
    assert expand_macros("$__timeFrom() < $__timeTo()", RANGE) == "'2026-11-20T06:00:00Z' < '2026-11-20T12:00:00Z'"
    assert expand_macros("$__timeFilter(CAST(day AS TIMESTAMP))", RANGE) == (
        "CAST(day AS TIMESTAMP) >= '2026-11-20T06:00:00Z' AND CAST(day AS TIMESTAMP) <= '2026-11-20T12:00:00Z'"
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("$__timeGroup(hour, '1h')", "time_bucket"),
        ("$__unixEpochFilter(ts)", "not expanded by the DuckDB plugin"),
        ("$__timeFrom(hour)", "takes no argument"),
        ("$__timeFilter(a, b)", "exactly one column"),
        ("$__timeFilter(hour", "unbalanced"),
    ],
)
def test_macros_the_plugin_cannot_expand_are_refused(sql: str, message: str) -> None:
    with pytest.raises(InterpolationError, match=message):
        expand_macros(sql, RANGE)


def test_render_sql_refuses_unknown_variables() -> None:
    with pytest.raises(InterpolationError, match=r"\$\{tenant:sqlstring\} is not a variable"):
        render_sql("SELECT 1 WHERE x IN (${tenant:sqlstring})", _site("tyo1"))


def test_effective_interval_respects_the_panel_minimum() -> None:
    assert effective_interval("1m", "1h") == "1h"
    assert effective_interval("1d", "1h") == "1d"
    assert effective_interval("30s", None) == "30s"


@pytest.mark.parametrize(
    ("value", "rows"),
    [((ALL,), 2), (("tyo1",), 1), (("osa1", "tyo1"), 2), (("nowhere",), 0)],
)
def test_the_all_filter_selects_in_duckdb(value: tuple[str, ...], rows: int) -> None:
    sql = render_sql(
        "SELECT count(*) FROM (VALUES ('osa1'), ('tyo1')) AS t(site) "
        "WHERE ('__all' IN (${site:sqlstring}) OR site IN (${site:sqlstring}))",
        _site(value),
    )
    assert duckdb.sql(sql).fetchall() == [(rows,)]


def test_expanded_time_filter_compares_naive_utc_timestamps_and_dates() -> None:
    sql = render_sql(
        "SELECT count(*) FILTER (WHERE $__timeFilter(ts)), count(*) FILTER (WHERE $__timeFilter(d)) "
        "FROM (VALUES (TIMESTAMP '2026-11-20 05:59:59', DATE '2026-11-20'), "
        "(TIMESTAMP '2026-11-20 06:00:00', DATE '2026-11-19'), (TIMESTAMP '2026-11-20 12:00:00', DATE '2026-11-21')) "
        "AS t(ts, d)",
        QueryContext(RANGE),
    )
    # Inclusive at both ends; a DATE compares with the range's dates (the day containing the start counts).
    assert duckdb.sql(sql).fetchall() == [(2, 1)]

"""Prove generated dashboards work without a Grafana server: run every query as Grafana + the plugin would.

For each scenario (time range, ``$__interval``, and a selection of the variables: All, first value, two
values), the dashboard's variable queries run first, in order, each expanded with the selections made so
far, and their results become the options of the next; then every panel query is expanded
(:mod:`dashboards.interpolation`) and run on the serving file. A result must suit the plugin and the panel:

* no column types the plugin cannot convert (HUGEINT turns into a string, unsigned integers fail);
* time series (``format: 0``): a ``time`` column first, TIMESTAMP/DATE, no NULLs, ascending, and unique
  per label set (the plugin's long-to-wide conversion refuses anything else), plus a numeric value;
* stat/gauge reducing fields: exactly one row; bar gauges per row: a name and a value;
* in scenarios over data, rows and at least one non-NULL value.

Only the standard library and ``duckdb`` are imported, so the DuckDB 1.5.4 check runs this module in a
separate environment (``python -m dashboards.verify``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from dashboards.interpolation import (
    ALL,
    InterpolationError,
    QueryContext,
    TimeRange,
    VariableState,
    effective_interval,
    render_sql,
)

Selection = Literal["all", "first", "multi"]

TIME_TYPES = {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE"}
NUMERIC_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE"}
PLAIN_TYPES = {"BOOLEAN", "VARCHAR", *NUMERIC_TYPES, *TIME_TYPES}
#: Types the plugin mishandles, and what to do instead.
BAD_TYPES = {
    "HUGEINT": "the plugin turns HUGEINT into a string (sum() of integers is HUGEINT): cast to BIGINT or DOUBLE",
    "UHUGEINT": "unsigned integers are not supported by the plugin: cast to BIGINT or DOUBLE",
    "UBIGINT": "unsigned integers are not supported by the plugin: cast to BIGINT or DOUBLE",
    "UINTEGER": "unsigned integers are not supported by the plugin: cast to BIGINT or DOUBLE",
    "USMALLINT": "unsigned integers are not supported by the plugin: cast to BIGINT or DOUBLE",
    "UTINYINT": "unsigned integers are not supported by the plugin: cast to BIGINT or DOUBLE",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    time_range: TimeRange
    interval: str
    selection: Selection
    #: The range holds data: every query must return rows with a value.
    require_rows: bool = True


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    sql: str
    #: The panel's time range and ``$__interval`` the query ran with (what Grafana's x-axis spans).
    time_range: TimeRange | None = None
    interval: str | None = None


class QueryFailedError(Exception):
    """DuckDB refused an expanded query; keeps the SQL it ran."""

    def __init__(self, message: str, sql: str) -> None:
        super().__init__(message)
        self.message, self.sql = message, sql


@dataclass(frozen=True)
class Problem:
    """One failed check, naming the dashboard, the panel (or variable) and the scenario."""

    dashboard: str
    panel: str
    scenario: str
    message: str
    sql: str = ""

    def __str__(self) -> str:
        return f"dashboard {self.dashboard!r}, {self.panel} [{self.scenario}]: {self.message}"


@dataclass
class Report:
    queries: int = 0
    panels: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def extend(self, other: Report) -> None:
        self.queries += other.queries
        self.panels += other.panels
        self.problems += other.problems


def default_scenarios(end: dt.datetime) -> list[Scenario]:
    """Ranges ending at ``end`` (the end of the data): a day with All, 6 h with one value, a week with two,
    and 400 days with All at a coarse interval (monthly and 12-month panels, ``$__interval`` of a day)."""
    end = end.astimezone(dt.UTC)

    def back(delta: dt.timedelta) -> TimeRange:
        return TimeRange(end - delta, end)

    return [
        Scenario("24h, All", back(dt.timedelta(hours=24)), "1m", "all"),
        Scenario("6h, first value", back(dt.timedelta(hours=6)), "30s", "first", require_rows=False),
        Scenario("7d, two values", back(dt.timedelta(days=7)), "10m", "multi", require_rows=False),
        Scenario("400d, All", back(dt.timedelta(days=400)), "1d", "all"),
    ]


def data_end(con: duckdb.DuckDBPyConnection) -> dt.datetime:
    """The end of the newest hour in any table with an ``hour`` column (UTC): where scenarios end."""
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'hour' ORDER BY 1"
        ).fetchall()
    ]
    latest: dt.datetime | None = None
    for name in tables:
        # Table names come from the database's own catalogue; quoted as identifiers.
        value = con.execute(f'SELECT max(hour) FROM "{name}"').fetchone()
        if value and isinstance(value[0], dt.datetime) and (latest is None or value[0] > latest):
            latest = value[0]
    if latest is None:
        raise ValueError("the serving file has no hourly data to verify against")
    return latest.replace(tzinfo=dt.UTC) + dt.timedelta(hours=1)


def _shift_back(end: dt.datetime, text: str) -> dt.datetime:
    """Grafana's ``now-<text>`` with calendar months and years."""
    count, unit = int(text[:-1] or "0"), text[-1]
    if unit in "My":
        months = count * (12 if unit == "y" else 1)
        year, month = divmod(end.month - 1 - months, 12)
        return end.replace(year=end.year + year, month=month + 1, day=min(end.day, 28))
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    return end - dt.timedelta(seconds=count * seconds)


def panel_time_range(scenario: Scenario, panel: Mapping[str, Any]) -> TimeRange:
    """The panel's relative time override (``timeFrom``), counted back from the scenario's end."""
    time_from = panel.get("timeFrom")
    if not time_from:
        return scenario.time_range
    end = scenario.time_range.end
    return TimeRange(_shift_back(end, str(time_from).removeprefix("now-")), end)


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
    rel = con.sql(sql)
    if rel is None:
        raise ValueError("the statement returns no result set")
    return list(rel.columns), [str(t) for t in rel.types], rel.fetchall()


def _kind(type_name: str) -> str:
    base = type_name.split("(")[0]
    if base == "DECIMAL" or base in NUMERIC_TYPES:
        return "number"
    if base in TIME_TYPES:
        return "time"
    if base in ("VARCHAR", "BOOLEAN"):
        return "label"
    return "other"


def check_result(
    panel: Mapping[str, Any], query_format: int, columns: list[str], types: list[str], rows: list[tuple[Any, ...]]
) -> list[str]:
    """What is wrong with a panel query's result for the plugin and the panel kind (empty if nothing)."""
    problems: list[str] = []
    for name, type_name in zip(columns, types, strict=True):
        base = type_name.split("(")[0]
        if base in BAD_TYPES:
            problems.append(f"column {name!r} is {type_name}: {BAD_TYPES[base]}")
        elif base not in PLAIN_TYPES and base != "DECIMAL":
            problems.append(f"column {name!r} is {type_name}, which the plugin does not convert")
    kinds = [_kind(t) for t in types]
    if query_format == 0:
        if not columns or columns[0] != "time" or kinds[0] != "time":
            problems.append("a time series must return a TIMESTAMP or DATE column named 'time' first")
            return problems
        if "number" not in kinds:
            problems.append("a time series needs at least one numeric value column")
        times = [r[0] for r in rows]
        if any(t is None for t in times):
            problems.append("the time column has NULLs (the plugin refuses them)")
            return problems
        if any(a > b for a, b in itertools.pairwise(times)):
            problems.append("rows are not ordered by time ascending (ORDER BY time)")
        labels = [i for i, k in enumerate(kinds) if k == "label"]
        keys = [(r[0], *(r[i] for i in labels)) for r in rows]
        if len(set(keys)) != len(keys):
            problems.append("two rows share a time and label set; the plugin's long-to-wide step refuses that")
    reduce_options = panel.get("options", {}).get("reduceOptions")
    if panel.get("type") in ("stat", "gauge", "bargauge") and isinstance(reduce_options, dict):
        if reduce_options.get("values") and ("label" not in kinds or "number" not in kinds):
            problems.append("a per-row panel needs a name (text) column and a numeric column")
        if not reduce_options.get("values") and len(rows) > 1:
            problems.append(f"a {panel.get('type')} that reduces fields must return one row, got {len(rows)}")
    return problems


def _empty_is_designed(panel: Mapping[str, Any]) -> bool:
    """Exception lists say what they show when empty (``noValue``): for them, no rows is the healthy state."""
    return bool(panel.get("fieldConfig", {}).get("defaults", {}).get("noValue"))


def _has_value(types: list[str], rows: list[tuple[Any, ...]]) -> bool:
    numeric = [i for i, t in enumerate(types) if _kind(t) == "number"]
    cells = numeric or range(len(types))
    return any(row[i] is not None for row in rows for i in cells)


class Checker:
    """Checks one dashboard under one scenario; also how the preview resolves variables and runs panels."""

    def __init__(self, con: duckdb.DuckDBPyConnection, dashboard: Mapping[str, Any], scenario: Scenario) -> None:
        self.con, self.dashboard, self.scenario = con, dashboard, scenario
        self.name = f"{dashboard.get('title')} ({dashboard.get('uid')})"
        self.report = Report()

    def problem(self, where: str, message: str, sql: str = "") -> None:
        self.report.problems.append(Problem(self.name, where, self.scenario.name, message, sql))

    def variables(self) -> dict[str, VariableState] | None:
        """Resolve the variables in order; ``None`` when one fails (panels would all fail with it)."""
        states: dict[str, VariableState] = {}
        for var in self.dashboard.get("templating", {}).get("list", []):
            name, kind = var["name"], var.get("type")
            where = f"variable {name!r}"
            if kind == "textbox" or kind == "constant":
                states[name] = VariableState(name, str(var.get("query", "")))
                continue
            if kind != "query":
                self.problem(where, f"variable type {kind!r} is not used by aigrid dashboards")
                return None
            ctx = QueryContext(self.scenario.time_range, self.scenario.interval, states)
            sql = ""
            try:
                sql = render_sql(str(var.get("query", "")), ctx, mode="variable")
                columns, _types, rows = _run(self.con, sql)
                self.report.queries += 1
            except (InterpolationError, duckdb.Error, ValueError) as exc:
                self.problem(where, f"query failed: {exc}", sql)
                return None
            values_at = columns.index("__value") if "__value" in columns else 0
            texts_at = columns.index("__text") if "__text" in columns else values_at
            options = tuple(str(r[values_at]) for r in rows)
            texts = [str(r[texts_at]) for r in rows]
            if len(set(texts)) != len(texts):
                self.problem(where, "option texts repeat; the plugin keeps only the first of each (uniqBy text)")
            if not options:
                self.problem(where, "no options: every panel filtered by it would show nothing", sql)
                return None
            states[name] = self._select(var, options)
        return states

    def _select(self, var: Mapping[str, Any], options: tuple[str, ...]) -> VariableState:
        multi, include_all = bool(var.get("multi")), bool(var.get("includeAll"))
        all_value = var.get("allValue") or None
        value: str | tuple[str, ...]
        if self.scenario.selection == "all" and include_all:
            value = (ALL,) if multi else ALL
        elif self.scenario.selection == "multi" and multi:
            value = options[:2]
        else:
            value = (options[0],) if multi else options[0]
        return VariableState(str(var["name"]), value, multi, include_all, all_value, options)

    def context(self, panel: Mapping[str, Any], states: Mapping[str, VariableState]) -> QueryContext:
        """The panel's time range (with its override) and ``$__interval`` (with its minimum)."""
        return QueryContext(
            panel_time_range(self.scenario, panel),
            effective_interval(self.scenario.interval, panel.get("interval")),
            states,
        )

    def run(
        self, panel: Mapping[str, Any], target: Mapping[str, Any], states: Mapping[str, VariableState]
    ) -> QueryResult:
        """Expand and run one target; raises InterpolationError or duckdb.Error."""
        context = self.context(panel, states)
        sql = render_sql(str(target.get("rawSql", "")), context)
        try:
            columns, types, rows = _run(self.con, sql)
        except duckdb.Error as exc:
            raise QueryFailedError(str(exc), sql) from exc
        return QueryResult(columns, types, rows, sql, context.time_range, context.interval)

    def panels(self, states: dict[str, VariableState]) -> None:
        for panel in iter_panels(self.dashboard):
            self.report.panels += 1
            where = f"panel {panel.get('title')!r} (id {panel.get('id')})"
            for target in panel.get("targets", []):
                fmt = target.get("format")
                if fmt not in (0, 1):
                    self.problem(where, f"target {target.get('refId')}: format must be the integer 0 or 1")
                    continue
                try:
                    result = self.run(panel, target, states)
                    self.report.queries += 1
                except InterpolationError as exc:
                    self.problem(where, f"query failed: {exc}")
                    continue
                except QueryFailedError as exc:
                    self.problem(where, f"query failed: {exc.message}", exc.sql)
                    continue
                columns, types, rows, sql = result.columns, result.types, result.rows, result.sql
                for message in check_result(panel, int(fmt), columns, types, rows):
                    self.problem(where, message, sql)
                if not self.scenario.require_rows or (not rows and _empty_is_designed(panel)):
                    continue
                if not rows:
                    self.problem(where, "returned no rows over data that should fill it", sql)
                elif not _has_value(types, rows):
                    self.problem(where, "returned only NULL values (Grafana shows 'No data')", sql)


def iter_panels(dashboard: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """Every non-row panel, including those inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def verify_dashboard(
    con: duckdb.DuckDBPyConnection, dashboard: Mapping[str, Any], scenarios: Sequence[Scenario]
) -> Report:
    report = Report()
    for scenario in scenarios:
        checker = Checker(con, dashboard, scenario)
        states = checker.variables()
        if states is not None:
            checker.panels(states)
        report.extend(checker.report)
    return report


def verify_all(
    con: duckdb.DuckDBPyConnection,
    dashboards: Sequence[Mapping[str, Any]],
    scenarios: Sequence[Scenario] | None = None,
) -> Report:
    """Every dashboard under every scenario (by default :func:`default_scenarios` at the data's end)."""
    chosen = list(scenarios) if scenarios is not None else default_scenarios(data_end(con))
    report = Report()
    for dashboard in dashboards:
        report.extend(verify_dashboard(con, dashboard, chosen))
    return report


def load_dashboards(directory: Path) -> list[dict[str, Any]]:
    """Every dashboard JSON under ``directory``, in path order."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.rglob("*.json"))]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dashboards.verify --serving FILE --dashboards DIR``: exit 1 if any check fails."""
    parser = argparse.ArgumentParser(prog="python -m dashboards.verify", description=__doc__.split("\n")[0])
    parser.add_argument("--serving", type=Path, required=True, help="serving DuckDB file (opened read-only)")
    parser.add_argument("--dashboards", type=Path, required=True, help="folder of dashboard JSON files")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of lines")
    args = parser.parse_args(argv)
    con = duckdb.connect(str(args.serving), read_only=True)
    try:
        report = verify_all(con, load_dashboards(args.dashboards))
    finally:
        con.close()
    if args.json:
        out = {"duckdb": duckdb.__version__, "queries": report.queries, "panels": report.panels}
        print(json.dumps({**out, "problems": [asdict(p) for p in report.problems]}))
    else:
        for problem in report.problems:
            print(problem)
        print(f"{report.queries} queries, {report.panels} panel checks, {len(report.problems)} problems")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Check builders shared by every mart: unique keys from the table declaration, range rules, SQL invariants.

All checks of one table run in one Dagster step (a ``multi_asset_check``) on one warehouse connection, so a
run with many checked marts pays the step and connection overhead once per table, not once per rule; each
rule is still its own named check with its own result, severity and blocking flag in the UI.

A check looks at the partition window of the run it belongs to (``check_window``), so a backfill checks every
partition it wrote and a single hour costs one hour's scan; unpartitioned tables are checked whole. Rules are
SQL written in this code base that selects *bad* rows; a check fails (or warns) when any exist and shows the
counts and a few examples.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from pipelines.defs.common import check_window
from pipelines.lib.bulk import tune_session
from pipelines.lib.warehouse import Warehouse
from pipelines.resources import WarehouseResource
from pipelines.tables import table

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN
Evaluate = Callable[[Warehouse, str, list[dt.datetime]], tuple[bool, dict[str, Any]]]


@dataclass(frozen=True)
class Check:
    """One named check of a table: ``evaluate(warehouse, where, params)`` → (passed, metadata)."""

    name: str
    description: str
    evaluate: Evaluate
    severity: dg.AssetCheckSeverity = ERROR
    blocking: bool = False


def scope(context: dg.AssetCheckExecutionContext, wh: Warehouse, name: str) -> tuple[str, list[dt.datetime]]:
    """WHERE clause and parameters limiting a check of ``name`` to the run's window ('TRUE' for dimensions)."""
    tbl = table(name)
    if tbl.time_column is None:
        return "TRUE", []
    latest = wh.query(f"SELECT max({tbl.time_column}) AS t FROM {tbl.name}").item()
    if isinstance(latest, dt.date) and not isinstance(latest, dt.datetime):
        latest = dt.datetime.combine(latest, dt.time())
    default_hours = 48 if tbl.grain == "hour" else 24 * 62
    try:
        start, end = check_window(context, latest, default_hours=default_hours)
    except dg.DagsterInvariantViolationError:  # a run of checks alone, with partition tags but no partitioned op
        start, end = check_window_of(latest, default_hours)
    return f"{tbl.time_column} >= ? AND {tbl.time_column} < ?", [start, end]


def check_window_of(latest: dt.datetime | None, hours: int) -> tuple[dt.datetime, dt.datetime]:
    """The last ``hours`` of data up to the hour after ``latest``."""
    end = (latest or dt.datetime(1970, 1, 1)) + dt.timedelta(hours=1)
    return end - dt.timedelta(hours=hours), end


def table_checks(name: str, checks: Sequence[Check]) -> dg.AssetChecksDefinition:
    """All ``checks`` of table ``name`` as one step; each yields its own result."""
    specs = [dg.AssetCheckSpec(c.name, asset=name, description=c.description, blocking=c.blocking) for c in checks]

    @dg.multi_asset_check(specs=specs, name=f"{name}_checks", description=f"Quality checks of {name}.")
    def _run(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        wh = warehouse.warehouse
        with wh.session():
            tune_session(wh)
            where, params = scope(context, wh, name)
            for c in checks:
                passed, metadata = c.evaluate(wh, where, params)
                metadata["window"] = " – ".join(str(p) for p in params) if params else "whole table"
                yield dg.AssetCheckResult(
                    asset_key=name, check_name=c.name, passed=passed, severity=c.severity, metadata=metadata
                )

    return _run


def unique_keys(name: str, *, blocking: bool = True) -> Check:
    """One row per declared key in the checked window (NULLs compare equal, as in GROUP BY).

    Hourly tables are checked hour by hour (duplicates cannot cross a partition), on a 64-bit hash of the key
    first; only hashes seen twice are looked at exactly. A backfill of 86 M samples is checked in seconds and
    in bounded memory.
    """
    tbl = table(name)
    keys = ", ".join(tbl.key)
    tc = tbl.time_column

    def evaluate(wh: Warehouse, where: str, params: list[dt.datetime]) -> tuple[bool, dict[str, Any]]:
        spans: list[tuple[str, list[Any]]] = [(where, list(params))]
        if tbl.grain == "hour" and params:
            start, end = params
            hours = int((end - start).total_seconds() // 3600)
            spans = [
                (f"{tc} >= ? AND {tc} < ?", [start + dt.timedelta(hours=h), start + dt.timedelta(hours=h + 1)])
                for h in range(hours)
            ] or spans
        duplicates: list[tuple[Any, ...]] = []
        for span_where, span_params in spans:
            suspects = wh.query(
                f"SELECT h FROM (SELECT hash({keys}) AS h FROM {tbl.name} WHERE {span_where}) "
                "GROUP BY h HAVING count(*) > 1",
                span_params,
            )
            if suspects.is_empty():
                continue
            exact = wh.query(
                f"SELECT {keys}, count(*) AS n FROM {tbl.name} WHERE {span_where} "
                f"AND hash({keys}) IN (SELECT unnest(?)) GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC LIMIT 5",
                [*span_params, suspects.get_column("h").to_list()],
            )
            duplicates.extend(exact.rows())
        return not duplicates, {
            "duplicate_keys": len(duplicates),
            "examples": dg.MarkdownMetadataValue(_examples(duplicates)),
        }

    return Check(f"{name}_unique_keys", f"One row per ({', '.join(tbl.key)}).", evaluate, blocking=blocking)


def ranges(
    name: str, rules: dict[str, str], *, severity: dg.AssetCheckSeverity = ERROR, blocking: bool = False
) -> Check:
    """Fails (or warns) when any row matches a rule; ``rules`` maps a label to a predicate selecting bad rows."""
    tbl = table(name)
    counts = ", ".join(f"count(*) FILTER (WHERE {predicate}) AS {label}" for label, predicate in rules.items())

    def evaluate(wh: Warehouse, where: str, params: list[dt.datetime]) -> tuple[bool, dict[str, Any]]:
        bad = wh.query(f"SELECT count(*) AS rows_checked, {counts} FROM {tbl.name} WHERE {where}", params)
        found = {k: int(v or 0) for k, v in bad.row(0, named=True).items()}
        checked = found.pop("rows_checked")
        return not any(found.values()), {"rows_checked": checked, **found}

    description = "No row outside its physical or logical range: " + "; ".join(rules)
    return Check(f"{name}_ranges", description, evaluate, severity=severity, blocking=blocking)


def offending_rows(
    check_name: str,
    description: str,
    sql: Callable[[str], str],
    *,
    params_per_scope: int = 1,
    severity: dg.AssetCheckSeverity = ERROR,
    blocking: bool = False,
) -> Check:
    """A check whose SQL (built from the window predicate) returns offending rows; passes when there are none.

    ``params_per_scope``: how many times the SQL uses the window's (start, end) pair, in order.
    """

    def evaluate(wh: Warehouse, where: str, params: list[dt.datetime]) -> tuple[bool, dict[str, Any]]:
        off = wh.query(sql(where), params * params_per_scope)
        return off.is_empty(), {
            "offending_rows": off.height,
            "examples": dg.MarkdownMetadataValue(_examples(off.head(5).rows())),
        }

    return Check(check_name, description, evaluate, severity=severity, blocking=blocking)


def _examples(rows: Sequence[tuple[object, ...]]) -> str:
    if not rows:
        return "none"
    return "\n".join("- " + ", ".join(_fmt(v) for v in r) for r in rows[:5])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

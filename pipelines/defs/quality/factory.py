"""Check builders shared by every mart: unique keys from the table declaration, and range rules.

A check looks at the partition window of the run it belongs to (``check_window``), so a backfill checks every
partition it wrote and a single hour costs one hour's scan; unpartitioned tables are checked whole. Rules are
SQL predicates written in this code base that select *bad* rows; the check fails (or warns) when any exist
and shows the count per rule and a few examples in the UI.
"""

import datetime as dt
from collections.abc import Callable, Sequence

import dagster as dg

from pipelines.defs.common import check_window
from pipelines.lib.warehouse import Warehouse
from pipelines.resources import WarehouseResource
from pipelines.tables import table


def scope(context: dg.AssetCheckExecutionContext, wh: Warehouse, name: str) -> tuple[str, list[dt.datetime]]:
    """WHERE clause and parameters limiting a check of ``name`` to the run's window (empty for dimensions)."""
    tbl = table(name)
    if tbl.time_column is None:
        return "TRUE", []
    latest = wh.query(f"SELECT max({tbl.time_column}) AS t FROM {tbl.name}").item()
    if isinstance(latest, dt.date) and not isinstance(latest, dt.datetime):
        latest = dt.datetime.combine(latest, dt.time())
    start, end = check_window(context, latest, default_hours=48 if tbl.grain == "hour" else 24 * 62)
    return f"{tbl.time_column} >= ? AND {tbl.time_column} < ?", [start, end]


def key_check(name: str, *, blocking: bool = True) -> dg.AssetChecksDefinition:
    """One row per declared key in the checked window (NULLs compare equal, as in GROUP BY)."""
    tbl = table(name)
    keys = ", ".join(tbl.key)

    @dg.asset_check(
        asset=name,
        name=f"{name}_unique_keys",
        blocking=blocking,
        description=f"One row per ({', '.join(tbl.key)}).",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        where, params = scope(context, wh, name)
        dupes = wh.query(
            f"SELECT {keys}, count(*) AS n FROM {tbl.name} WHERE {where} GROUP BY ALL HAVING count(*) > 1 "
            f"ORDER BY n DESC LIMIT 5",
            params,
        )
        return dg.AssetCheckResult(
            passed=dupes.is_empty(),
            metadata={
                "duplicate_keys": dupes.height,
                "examples": dg.MarkdownMetadataValue(_examples(dupes.rows())),
                "window": str(params) if params else "whole table",
            },
        )

    return _check


def range_check(
    name: str,
    rules: dict[str, str],
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    blocking: bool = False,
    suffix: str = "ranges",
    description: str | None = None,
) -> dg.AssetChecksDefinition:
    """Fails (or warns) when any row matches a rule; ``rules`` maps a label to a predicate selecting bad rows."""
    tbl = table(name)
    counts = ", ".join(f"count(*) FILTER (WHERE {predicate}) AS {label}" for label, predicate in rules.items())

    @dg.asset_check(
        asset=name,
        name=f"{name}_{suffix}",
        blocking=blocking,
        description=description or "No row outside its physical or logical range: " + "; ".join(rules),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        where, params = scope(context, wh, name)
        bad = wh.query(f"SELECT count(*) AS rows_checked, {counts} FROM {tbl.name} WHERE {where}", params)
        found = {k: int(v or 0) for k, v in bad.row(0, named=True).items()}
        checked = found.pop("rows_checked")
        return dg.AssetCheckResult(
            passed=not any(found.values()),
            severity=severity,
            metadata={"rows_checked": checked, **found},
        )

    return _check


def sql_check(
    name: str,
    check_name: str,
    description: str,
    sql: Callable[[str], str],
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    blocking: bool = False,
    params_per_scope: int = 1,
) -> dg.AssetChecksDefinition:
    """A check whose SQL (built from the window predicate) returns offending rows; passes when there are none."""

    @dg.asset_check(asset=name, name=check_name, blocking=blocking, description=description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        where, params = scope(context, wh, name)
        off = wh.query(sql(where), params * params_per_scope)
        return dg.AssetCheckResult(
            passed=off.is_empty(),
            severity=severity,
            metadata={
                "offending_rows": off.height,
                "examples": dg.MarkdownMetadataValue(_examples(off.head(5).rows())),
            },
        )

    return _check


def _examples(rows: Sequence[tuple[object, ...]]) -> str:
    if not rows:
        return "none"
    return "\n".join("- " + ", ".join(_fmt(v) for v in r) for r in rows[:5])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

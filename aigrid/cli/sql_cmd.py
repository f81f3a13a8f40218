"""``aigrid sql``: ask the serving database a question, read-only."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.table import Table

from aigrid.cli.base import cli, root_option
from collectors.errors import InputError
from collectors.layout import DataRoot


@cli.command("sql")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serving file [default: <root>/serving/current.duckdb].",
)
@click.option("--max-rows", default=200, show_default=True, help="Rows shown in table format (csv/json print all).")
@root_option
def sql_command(query: str, fmt: str, db: Path | None, max_rows: int, root: Path) -> None:
    """Run QUERY read-only against the serving file (tables and views listed in docs/sql.md)."""
    path = db or DataRoot.at(root).serving_db
    if not path.exists():
        raise InputError(f"no serving file at {path}; run `aigrid demo` (or materialise serving_db) first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"cannot open {path} read-only: {exc}") from None
    try:
        result = con.execute(query)
        columns = [d[0] for d in result.description or []]
        rows = result.fetchall()
    except duckdb.Error as exc:
        raise InputError(f"query failed: {_first_line(exc)}") from None
    finally:
        con.close()
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=1))
    else:
        table = Table(show_lines=False)
        for c in columns:
            table.add_column(c)
        for r in rows[:max_rows]:
            table.add_row(*("NULL" if v is None else _cell(v) for v in r))
        console = Console()
        console.print(table)
        if len(rows) > max_rows:
            console.print(f"({len(rows) - max_rows} more rows; use --format csv for all)")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]

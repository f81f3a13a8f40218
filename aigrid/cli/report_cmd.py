"""``aigrid report tenants``: monthly statements per tenant (CSV and HTML with a usage plot) from the serving file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import duckdb
from rich.console import Console
from rich.table import Table

from aigrid.cli.base import report, root_option
from aigrid.cli.progress import progress_bar
from collectors.errors import InputError
from collectors.layout import DataRoot

if TYPE_CHECKING:
    from pipelines.lib.statement import Statement


@report.command("tenants")
@click.option("--month", required=True, help="Calendar month in UTC, YYYY-MM (e.g. 2026-11).")
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    help="Tenant id (repeatable) [default: every AI and RAN tenant with usage in the month].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the statements (created if missing).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serving file [default: <root>/serving/current.duckdb].",
)
@root_option
def tenants_command(month: str, tenants: tuple[str, ...], out: Path, db: Path | None, root: Path) -> None:
    """Write each tenant's statement for MONTH: line items (CSV), days (CSV) and an HTML page with a usage plot.

    Totals are those of tenant_usage_monthly (the days are checked to add up to them). The month may still be
    running: the statement then covers the month to date and says up to when.
    """
    from aigrid.report.statement_files import write_index, write_statement
    from pipelines.lib.statement import load_statement, parse_month, tenants_in_month

    period = parse_month(month)
    path = db or DataRoot.at(root).serving_db
    if not path.exists():
        raise InputError(f"no serving file at {path}; run `aigrid demo` (or materialise serving_db) first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"cannot open {path} read-only: {exc}") from None
    statements = []
    try:
        chosen = list(tenants) or tenants_in_month(con, period)
        if not chosen:
            raise InputError(f"no tenant usage in {period:%Y-%m} in {path}")
        with progress_bar() as bar:
            for i, tenant in enumerate(chosen):
                bar("Tenant statements", i, len(chosen))
                statement = load_statement(con, period, tenant)
                write_statement(statement, out)
                statements.append(statement)
            bar("done", len(chosen), len(chosen))
    finally:
        con.close()
    index = write_index(statements, out, f"{period:%Y-%m}")
    _summary(statements, out, index)


def _summary(statements: list[Statement], out: Path, index: Path) -> None:
    table = Table(title="Tenant statements")
    for col in ("tenant", "GPU-hours", "GPU kWh", "facility kWh", "amount due"):
        table.add_column(col, justify="left" if col == "tenant" else "right")
    for s in statements:
        t = s.totals
        due = "–" if t["total_cost"] is None else f"{t['total_cost']:,.2f} {s.currency}"
        facility = "–" if t["facility_energy_kwh"] is None else f"{t['facility_energy_kwh']:,.2f}"
        table.add_row(s.tenant, f"{t['gpu_hours'] or 0:,.2f}", f"{t['gpu_energy_kwh'] or 0:,.2f}", facility, due)
    console = Console()
    console.print(table)
    console.print(f"{len(statements)} statement(s) in {out} (index: {index.name})")

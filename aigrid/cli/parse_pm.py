"""``aigrid parse pm FILE``: print the records one RAN PM file yields, through the ingest's own code path.

For an operator checking what aigrid makes of their OSS's files before pointing the inbox at them:
records go to stdout (JSON lines or CSV), problems and a summary to stderr, and a refused file prints
one line and exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from aigrid.cli.base import parse
from collectors.ran.parse import parse_file
from collectors.ran.records import ParseResult
from collectors.ran.units import SYSTEMS

#: Files smaller than this parse in well under a second; no progress bar.
PROGRESS_MIN_BYTES = 16 * 1024**2


@parse.command("pm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", default="local", show_default=True, help="Site written into every record.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True, help="Output format."
)
@click.option(
    "--default-tz",
    default="UTC",
    show_default=True,
    help="Zone for times written without an offset (IANA name such as Asia/Tokyo, or +09:00).",
)
@click.option(
    "--unit-system",
    type=click.Choice(sorted(SYSTEMS)),
    default=None,
    help="Read counters with this unit map instead of the format's own (e.g. oran-kpm for E2SM-KPM values).",
)
@click.option("--gnb", "managed_element", default=None, help="gNB name for srsRAN metrics (they carry none).")
@click.option("--quiet", "-q", is_flag=True, help="Do not print problems and the summary to stderr.")
def parse_pm(
    file: Path,
    site: str,
    fmt: str,
    default_tz: str,
    unit_system: str | None,
    managed_element: str | None,
    quiet: bool,
) -> None:
    """Parse one PM file (TS 32.435 / 28.532 XML, VES, OAI o1 stats, srsRAN JSON; .gz too) and print its records."""
    result = _parse_with_progress(file, site, default_tz, unit_system, managed_element, quiet)
    out = result.records.with_columns(
        pl.col("period_start", "period_end").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"),
    )
    text = out.write_ndjson() if fmt == "jsonl" else out.write_csv()
    click.echo(text, nl=False)
    if not quiet:
        err = Console(stderr=True, highlight=False)
        for problem in result.problems:
            err.print(f"[yellow]warning:[/yellow] {problem}", markup=True, soft_wrap=True)
        err.print(
            f"{result.records.height} record(s) from {file.name} ({result.source_format}), "
            f"{len(result.problems)} problem(s)",
            soft_wrap=True,
        )


def _parse_with_progress(
    file: Path, site: str, default_tz: str, unit_system: str | None, managed_element: str | None, quiet: bool
) -> ParseResult:
    size = file.stat().st_size
    kwargs = {"site": site, "default_tz": default_tz, "unit_system": unit_system, "managed_element": managed_element}
    if quiet or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        return parse_file(file, producer="aigrid-parse-pm", **kwargs)  # type: ignore[arg-type]
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"parsing {file.name}", total=size)
        return parse_file(
            file,
            producer="aigrid-parse-pm",
            progress=lambda n: bar.advance(task, n),
            **kwargs,  # type: ignore[arg-type]
        )

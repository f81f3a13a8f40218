"""``aigrid parse dcgm FILE``: the normalised records of one saved dcgm-exporter scrape.

For operators debugging an exporter: ``curl -s node:9400/metrics > scrape.txt`` and see exactly what the
scraper would land from it — the same parser and normaliser, one GPU (or MIG instance) per record, units
converted, holders folded — with every problem (line number and reason) on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
import polars as pl

from aigrid.cli.base import parse
from collectors.errors import InputError
from collectors.gpu.dcgm.health import XidTracker
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.normalise import to_gpu_rows
from collectors.gpu.dcgm.parse import parse_exposition
from collectors.gpu.dcgm.rows import gpu_health_buffer
from collectors.gpu.prometheus.timespec import parse_duration, parse_time


@parse.command("dcgm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--site", default="unknown", show_default=True, help="Site written on every record.")
@click.option("--node", default=None, help="Node name when the scrape has no hostname label [default: file stem].")
@click.option("--ts", "ts_text", default=None, help="Sample time (RFC 3339 or Unix) [default: the file's mtime].")
@click.option("--interval", default="30s", show_default=True, help="Scrape interval the records stand for.")
@click.option(
    "--dcgm-generation",
    type=click.Choice([g.value for g in Generation]),
    default=None,
    help="Force the exporter's naming generation instead of detecting it.",
)
@click.option("--health", is_flag=True, help="Print the XID events (gpu_health records) instead of the GPU records.")
def parse_dcgm(
    file: Path,
    fmt: str,
    site: str,
    node: str | None,
    ts_text: str | None,
    interval: str,
    dcgm_generation: str | None,
    health: bool,
) -> None:
    """Print the normalised records of one saved dcgm-exporter scrape (FILE) on stdout."""
    ts = parse_time(ts_text, field="ts") if ts_text else dt.datetime.fromtimestamp(file.stat().st_mtime, dt.UTC)
    text = file.read_bytes().decode("utf-8", errors="replace")
    result = parse_exposition(text, origin=str(file))
    if not result.values:
        first = f"; first problem: {result.problems[0]}" if result.problems else ""
        raise InputError(f"no samples in the file{first}", file=str(file))
    frame, report = to_gpu_rows(
        result,
        ts=ts,
        site=site,
        node_hint=node or file.stem,
        interval_s=parse_duration(interval, field="interval"),
        producer="aigrid-parse",
        generation=Generation(dcgm_generation) if dcgm_generation else None,
        origin=str(file),
    )
    for problem in [*result.problems, *report.problems]:
        click.secho(f"warning: {problem}", fg="yellow", err=True)
    if result.problem_count > len(result.problems):
        click.secho(f"warning: {result.problem_count - len(result.problems)} more problem(s) not shown", err=True)
    if health:
        buffer = gpu_health_buffer()
        for row in XidTracker().events(report.xids, ts=ts, site=site, source="dcgm", producer="aigrid-parse"):
            buffer.append(row)
        frame = buffer.to_frame()
    _write(frame, fmt)
    click.echo(
        f"{frame.height} record(s) from {len(result)} sample(s); {result.problem_count + len(report.problems)} "
        f"problem(s); {report.blanks} blank value(s) dropped; {report.ignored} series not mapped; "
        f"generation {report.generation or 'legacy (assumed)'}",
        err=True,
    )


def _write(frame: pl.DataFrame, fmt: str) -> None:
    if fmt == "jsonl":
        for row in frame.iter_rows(named=True):
            sys.stdout.write(json.dumps(row, default=_json_default) + "\n")
        return
    if "holders" in frame.columns:
        frame = frame.with_columns(
            pl.Series("holders", [json.dumps(h) for h in frame.get_column("holders").to_list()], dtype=pl.String)
        )
    sys.stdout.write(frame.write_csv())


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")

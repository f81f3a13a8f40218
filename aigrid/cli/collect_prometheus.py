"""``aigrid collect prometheus``: backfill dcgm-exporter history from an existing Prometheus.

Shows a progress bar over the time chunks; an interrupted run (Ctrl-C, Prometheus down) is resumed by
running the same command again. Credentials come from files or environment variables only.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from aigrid.cli.base import collect, landing_root_option
from collectors.gpu.prometheus.api import PrometheusError
from collectors.gpu.prometheus.auth import authorization
from collectors.gpu.prometheus.backfill import DEFAULT_SAMPLE_BUDGET, ChunkProgress, backfill
from collectors.gpu.prometheus.timespec import parse_duration, parse_time

PASSWORD_ENV = "AIGRID_PROMETHEUS_PASSWORD"
TOKEN_ENV = "AIGRID_PROMETHEUS_TOKEN"


@collect.command("prometheus")
@click.option("--url", required=True, help="Base URL of the Prometheus server, e.g. http://prometheus:9090.")
@click.option("--start", "start_text", required=True, help="Start: RFC 3339, a date, a Unix time or now-30d.")
@click.option("--end", "end_text", default="now", show_default=True, help="End (exclusive); cut to whole hours.")
@click.option("--site", required=True, help="Site the history belongs to.")
@click.option("--step", default="30s", show_default=True, help="Resolution; must divide an hour.")
@click.option("--selector", default="", help='Extra label matchers for every query, e.g. job="dcgm-exporter".')
@landing_root_option
@click.option(
    "--sample-budget",
    default=DEFAULT_SAMPLE_BUDGET,
    show_default=True,
    help="About how many samples one chunk may hold (bounds memory here and load there).",
)
@click.option("--timeout", default="2m", show_default=True, help="Timeout of one API request.")
@click.option("--username", default=None, help="Basic-auth user (Prometheus behind a proxy).")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"File holding the basic-auth password [else ${PASSWORD_ENV}].",
)
@click.option(
    "--bearer-token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"File holding a bearer token [else ${TOKEN_ENV}].",
)
@click.option("--producer", default=None, help="Producer name on landed rows [default: prometheus@<host:port>].")
def collect_prometheus(
    url: str,
    start_text: str,
    end_text: str,
    site: str,
    step: str,
    selector: str,
    out: Path,
    sample_budget: int,
    timeout: str,
    username: str | None,
    password_file: Path | None,
    bearer_token_file: Path | None,
    producer: str | None,
) -> None:
    """Land dcgm-exporter history from the Prometheus at URL between START and END under OUT."""
    start = parse_time(start_text, field="start")
    end = parse_time(end_text, field="end")
    header = authorization(
        username=username,
        password_file=password_file,
        password_env=PASSWORD_ENV,
        token_file=bearer_token_file,
        token_env=TOKEN_ENV,
    )
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("backfill", total=None)

        def progress(p: ChunkProgress) -> None:
            what = "already landed" if p.skipped else f"{p.gpu_rows} GPU rows"
            bar.update(task, total=p.total, completed=p.done, description=f"{p.chunk_start:%Y-%m-%d %H:%M}Z {what}")

        try:
            report = backfill(
                url,
                start,
                end,
                out,
                site=site,
                step=parse_duration(step, field="step"),
                selector=selector,
                producer=producer,
                sample_budget=sample_budget,
                timeout_s=parse_duration(timeout, field="timeout"),
                authorization=header,
                progress=progress,
            )
        except PrometheusError as exc:
            raise click.ClickException(f"{exc}\nlanded chunks are kept: run the same command again to resume") from None
    if not report.chunks:
        reason = "no dcgm-exporter metrics in that range" if report.end > report.start else "no whole hour in range"
        console.print(f"nothing to backfill: {reason} ({report.start:%Y-%m-%dT%H:%MZ} – {report.end:%Y-%m-%dT%H:%MZ})")
        return
    console.print(
        f"{report.start:%Y-%m-%dT%H:%MZ} – {report.end:%Y-%m-%dT%H:%MZ} every {report.step_s:g}s in "
        f"{report.chunks} chunk(s) of {report.chunk_s / 3600:g} h ({report.skipped} already landed): "
        f"{report.samples} samples of {report.series} series from {len(report.metrics)} metric(s) → "
        f"{report.gpu_rows} GPU row(s), {report.xid_events} XID event(s) in {len(report.files)} file(s); "
        f"{report.requests} request(s), {report.split_queries} split for Prometheus' limits, "
        f"{report.problems} value problem(s)"
    )
    if report.ignored_metrics:
        console.print(f"not mapped (ignored): {', '.join(report.ignored_metrics)}")

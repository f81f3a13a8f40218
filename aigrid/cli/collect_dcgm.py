"""``aigrid collect dcgm``: scrape dcgm-exporters and land their readings until stopped (or ``--once``).

A live table (rich) shows targets up and down, scrapes, rows landed and the latest errors; Ctrl-C or
SIGTERM stops it after the attempts in flight and lands what is buffered. Credentials for exporters behind
``--web-config-file`` basic auth come from ``--username`` and a password file or ``$AIGRID_DCGM_PASSWORD``,
never from the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from aigrid.cli.base import collect, landing_root_option
from collectors.errors import InputError
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.scraper import DcgmScraper, ScrapeOutcome
from collectors.gpu.dcgm.targets import Target, load_targets_file, parse_target_list
from collectors.gpu.prometheus.auth import authorization
from collectors.gpu.prometheus.timespec import parse_duration

PASSWORD_ENV = "AIGRID_DCGM_PASSWORD"


@collect.command("dcgm")
@click.option("--targets", "targets_spec", default=None, help="host:port,host:port,… of dcgm-exporters.")
@click.option(
    "--targets-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Prometheus file_sd JSON/YAML, or one 'host:port [site=…] [node=…]' per line.",
)
@click.option("--site", default=None, help="Site of targets that do not name one (required if any lacks it).")
@click.option(
    "--interval", default="30s", show_default=True, help="Scrape interval (dcgm-exporter collects every 30s)."
)
@click.option(
    "--timeout", default=None, help="Per-target timeout, below the interval [default: 0.8 × interval, ≤ 10s]."
)
@click.option("--concurrency", default=64, show_default=True, help="Requests in flight at most.")
@click.option("--flush-every", default="60s", show_default=True, help="How often buffered rows are landed.")
@landing_root_option
@click.option("--once", is_flag=True, help="Scrape every target once, land, print the outcomes and exit.")
@click.option("--gzip/--no-gzip", default=True, show_default=True, help="Ask exporters for gzip bodies.")
@click.option(
    "--dcgm-generation",
    type=click.Choice([g.value for g in Generation]),
    default=None,
    help="Force the naming generation of targets whose file entry does not say.",
)
@click.option("--username", default=None, help="Basic-auth user for exporters behind --web-config-file.")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"File holding the basic-auth password [else ${PASSWORD_ENV}].",
)
@click.option("--producer", default=None, help="Producer name on landed rows [default: dcgm-scraper@<hostname>].")
def collect_dcgm(
    targets_spec: str | None,
    targets_file: Path | None,
    site: str | None,
    interval: str,
    timeout: str | None,
    concurrency: int,
    flush_every: str,
    out: Path,
    once: bool,
    gzip: bool,
    dcgm_generation: str | None,
    username: str | None,
    password_file: Path | None,
    producer: str | None,
) -> None:
    """Scrape dcgm-exporter targets every INTERVAL and land GPU rows, XID events and scrape health under OUT."""
    targets = _targets(targets_spec, targets_file, site, dcgm_generation)
    scraper = DcgmScraper(
        targets,
        out,
        interval_s=parse_duration(interval, field="interval"),
        timeout_s=parse_duration(timeout, field="timeout") if timeout else None,
        concurrency=concurrency,
        flush_every_s=parse_duration(flush_every, field="flush-every"),
        gzip=gzip,
        producer=producer,
        authorization=authorization(username=username, password_file=password_file, password_env=PASSWORD_ENV),
    )
    console = Console(stderr=True)
    if once:
        outcomes = asyncio.run(scraper.scrape_once())
        console.print(_outcome_table(outcomes))
        console.print(
            f"landed {scraper.totals.gpu_rows} GPU row(s), {scraper.totals.xid_events} XID event(s), "
            f"{scraper.totals.health_rows} scrape-health row(s) in {len(scraper.totals.files)} file(s) under {out}"
        )
        if not any(o.ok for o in outcomes):
            raise click.exceptions.Exit(1)
        return
    console.print(
        f"scraping {len(targets)} target(s) every {scraper.interval_s:g}s (timeout {scraper.timeout_s:g}s) "
        f"into {out}; Ctrl-C stops"
    )
    asyncio.run(_run(scraper, console))
    console.print(
        f"stopped: {scraper.attempts} scrape(s), {scraper.totals.gpu_rows} GPU row(s), "
        f"{scraper.totals.xid_events} XID event(s) in {len(scraper.totals.files)} file(s)"
    )


def _targets(spec: str | None, file: Path | None, site: str | None, generation: str | None) -> list[Target]:
    if (spec is None) == (file is None):
        raise click.UsageError("give exactly one of --targets or --targets-file")
    targets = parse_target_list(spec, default_site=site) if spec else load_targets_file(file, default_site=site)  # type: ignore[arg-type]
    if not targets:
        raise InputError("no targets given", field="targets")
    if generation:
        forced = Generation(generation)
        targets = [t if t.generation else Target(t.address, t.url, t.site, t.node_hint, forced) for t in targets]
    return targets


async def _run(scraper: DcgmScraper, console: Console) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(scraper.run(stop))
    frozen = False
    with Live(_status_table(scraper), console=console, refresh_per_second=1, transient=False) as live:
        while not task.done():
            await asyncio.wait({task}, timeout=1.0)
            live.update(_status_table(scraper))
            if not frozen and scraper.attempts >= len(scraper.states):
                # Every target's caches (series keys, plans, templates) now exist and live as long as the
                # process: move them out of the garbage collector's way (~0.2 ms per scrape at 1k targets).
                gc.freeze()
                frozen = True
    await task


def _status_table(scraper: DcgmScraper) -> Table:
    table = Table(title="dcgm scrape", show_header=True, header_style="bold")
    for col in ("targets", "up", "down", "scrapes", "GPU rows landed", "XID events", "files"):
        table.add_column(col, justify="right")
    seen = [s.last for s in scraper.states if s.last is not None]
    up = sum(1 for o in seen if o.ok)
    table.add_row(
        str(len(scraper.states)),
        str(up),
        str(len(seen) - up),
        str(scraper.attempts),
        str(scraper.totals.gpu_rows),
        str(scraper.totals.xid_events),
        str(len(scraper.totals.files)),
    )
    failing = [o for o in seen if not o.ok][:5]
    for o in failing:
        table.add_row(f"[red]{o.target}[/red]", "", "", "", "", "", o.error or "")
    return table


def _outcome_table(outcomes: Sequence[ScrapeOutcome]) -> Table:
    table = Table(show_header=True, header_style="bold")
    for col, justify in (("target", "left"), ("ok", "left"), ("ms", "right"), ("samples", "right"), ("rows", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("error / problems")
    for o in outcomes:
        table.add_row(
            o.target,
            "[green]yes[/green]" if o.ok else "[red]no[/red]",
            f"{o.duration_s * 1e3:.1f}",
            str(o.samples),
            str(o.rows),
            o.error or "",
        )
    return table

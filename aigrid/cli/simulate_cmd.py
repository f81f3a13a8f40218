"""``aigrid simulate``: write a simulated AI-grid site set's telemetry into a data root."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from aigrid.cli.base import cli, root_option
from aigrid.cli.progress import progress_bar
from collectors.errors import InputError
from collectors.layout import DataRoot
from collectors.simulator.run import simulate
from collectors.simulator.world import SimConfig


def sim_options(func: click.decorators.FC) -> click.decorators.FC:
    """The size and span flags shared by ``simulate`` and ``demo``."""
    for option in reversed(
        [
            click.option("--sites", default=2, show_default=True, help="Number of sites (1-4)."),
            click.option("--nodes", default=4, show_default=True, help="GPU nodes per site (8 GPUs each)."),
            click.option("--cells", default=6, show_default=True, help="NR cells per site (3 per gNB)."),
            click.option("--tenants", default=5, show_default=True, help="AI tenants (1-8), besides the RAN."),
            click.option("--hours", default=24, show_default=True, help="Hours to simulate."),
            click.option(
                "--start",
                type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
                default=None,
                help="Start of the span (UTC) [default: the last --hours full hours].",
            ),
            click.option("--seed", default=7, show_default=True, help="Random seed: same flags, same site."),
            click.option("--faults/--no-faults", default=True, show_default=True, help="Inject realistic faults."),
        ]
    ):
        func = option(func)
    return func


def make_config(
    sites: int, nodes: int, cells: int, tenants: int, hours: int, start: dt.datetime | None, seed: int, faults: bool
) -> SimConfig:
    try:
        return SimConfig(
            sites=sites,
            nodes=nodes,
            cells=cells,
            tenants=tenants,
            hours=hours,
            start=start.replace(tzinfo=dt.UTC) if start else None,
            seed=seed,
            faults=faults,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


@cli.command("simulate")
@sim_options
@root_option
def simulate_command(
    sites: int,
    nodes: int,
    cells: int,
    tenants: int,
    hours: int,
    start: dt.datetime | None,
    seed: int,
    faults: bool,
    root: Path,
) -> None:
    """Simulate GPU nodes, AI-RAN cells and facility meters, written through the real collector paths.

    GPU samples go through the NVML agent (against a simulated NVML) into the landing zone; RAN PM files
    (TS 32.435) and BMS meter exports (CSV) go into the inbox, as an OSS and a BMS would drop them.
    """
    config = make_config(sites, nodes, cells, tenants, hours, start, seed, faults)
    data_root = DataRoot.at(root)
    with progress_bar() as bar:
        result = simulate(config, data_root, bar)
    click.echo(
        f"simulated {len(result.world.sites)} site(s), {config.span_start:%Y-%m-%d %H:%M}Z to "
        f"{config.span_end:%Y-%m-%d %H:%M}Z into {data_root.path}\n"
        f"  GPU samples landed: {result.gpu_rows:,} in {result.gpu_files} files; "
        f"health events: {result.health_events}\n"
        f"  RAN PM files: {result.pm_files}; meter CSV files: {result.meter_files}; jobs: {len(result.workload.jobs)}"
    )

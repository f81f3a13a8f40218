"""``aigrid demo``: the whole product on the embedded simulated site, end to end, with a summary."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from aigrid.cli.base import cli, root_option
from aigrid.cli.progress import Callback, progress_bar
from aigrid.cli.simulate_cmd import make_config, sim_options
from collectors.layout import DataRoot


@cli.command("demo")
@sim_options
@root_option
@click.option(
    "--dagster-home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".aigrid") / "dagster_home",
    show_default=True,
    help="Dagster instance directory (the UI started by `make ui` reads the runs from here).",
)
def demo_command(
    sites: int,
    nodes: int,
    cells: int,
    tenants: int,
    hours: int,
    start: dt.datetime | None,
    seed: int,
    faults: bool,
    root: Path,
    dagster_home: Path,
) -> None:
    """Simulate the last 24 hours of a 2-site AI grid, run every Dagster asset, publish and summarise.

    The data root is re-created; runs are recorded in the Dagster home so `make ui` shows them.
    """
    from aigrid.demo import run_demo  # imports Dagster: only when the command runs

    config = make_config(sites, nodes, cells, tenants, hours, start, seed, faults)
    data_root = DataRoot.at(root)
    console = Console()
    console.print(
        f"[bold]aigrid demo[/]: {config.sites} site(s) × {config.nodes} nodes × 8 GPUs, {config.cells} cells per "
        f"site, {config.tenants} tenants + AI-RAN, {config.span_start:%Y-%m-%d %H:%M}Z → "
        f"{config.span_end:%Y-%m-%d %H:%M}Z"
    )
    started = time.perf_counter()
    with progress_bar() as bar:
        report = run_demo(config, data_root, dagster_home, progress=bar, stage_progress=_stages(bar))
    elapsed = time.perf_counter() - started
    _print_summary(console, report.summary, data_root)
    console.print(
        f"\nfinished in {elapsed:.0f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()) + ")"
    )
    console.print(
        "\n[bold]Next[/]\n"
        f'  aigrid sql "SELECT site, hour, pue FROM pue_hourly ORDER BY hour DESC LIMIT 5"\n'
        f'  aigrid sql "SELECT * FROM v_tenant_day" --format csv\n'
        f"  make ui                     # Dagster UI on http://127.0.0.1:3000 (runs, assets, checks)\n"
        f"  duckdb -readonly {data_root.serving_db}\n"
        f"  open {data_root.grafana / 'preview' / 'index.html'}   # the dashboards, drawn from this run\n"
        f"  Grafana: provisioning and dashboards for this root in {data_root.grafana} (docs/dashboards.md)"
    )


def _stages(bar: Callback) -> Callback:
    """Pipeline stages on their own bar, labelled as Dagster runs."""

    def update(label: str, done: int, total: int) -> None:
        bar("done" if label == "done" else "Dagster runs", done, total)

    return update


def _print_summary(console: Console, summary: dict[str, object], root: DataRoot) -> None:
    util = summary.get("fleet_util")
    console.print(f"\n[bold]Fleet[/]: {summary.get('gpus')} GPUs, utilisation {_pct(util)} (busy GPU-time / sampled)")
    pue = Table(title="PUE per site (facility energy / IT energy over the span)")
    for col in ("site", "PUE", "hourly min", "hourly max", "facility kWh", "IT kWh"):
        pue.add_column(col, justify="right" if col != "site" else "left")
    for site, value, lo, hi, fac, it in summary.get("pue", []):  # type: ignore[attr-defined]
        pue.add_row(site, _num(value, 3), _num(lo, 3), _num(hi, 3), _num(fac, 0), _num(it, 0))
    console.print(pue)
    tenants = Table(title="Tenants by GPU-hours")
    for col in ("tenant", "GPU-hours", "GPU kWh", "kWh with PUE"):
        tenants.add_column(col, justify="right" if col != "tenant" else "left")
    for tenant, gh, kwh, fkwh in summary.get("tenants", []):  # type: ignore[attr-defined]
        tenants.add_row(tenant, _num(gh, 1), _num(kwh, 1), _num(fkwh, 1))
    console.print(tenants)
    console.print(
        f"[bold]AI-RAN[/]: RAN holds {_pct(summary.get('ran_share_of_allocated'))} of allocated GPU time "
        f"({_pct(summary.get('ran_share_of_fleet'))} of all GPU time)"
    )
    quarantined = summary.get("quarantined") or {}
    assert isinstance(quarantined, dict)
    console.print(
        f"[bold]Data quality[/]: {summary.get('gpu_hours_incomplete')} GPU-hours under 90 % sampled; quarantined "
        + (", ".join(f"{n} {kind} file(s)" for kind, n in quarantined.items() if n) or "no files")
        + ' (why: aigrid sql "SELECT file, reason FROM quarantined_file", or the inbox assets in the Dagster UI)'
    )
    console.print(f"serving file: {root.serving_db}")


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f} %"  # type: ignore[arg-type]


def _num(value: object, digits: int) -> str:
    return "n/a" if value is None else f"{float(value):,.{digits}f}"  # type: ignore[arg-type]

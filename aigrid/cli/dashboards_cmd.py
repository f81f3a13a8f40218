"""``aigrid dashboards build | verify | preview | publish``: the Grafana dashboards from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from aigrid.cli.base import dashboards, root_option
from collectors.errors import InputError
from collectors.layout import DataRoot
from dashboards.generate import build, drift
from dashboards.lint import lint
from dashboards.publish import DEFAULT_TOKEN_ENV, PublishError, publish, token_from_env
from dashboards.render import GENERATED_DIR
from dashboards.schema import validate
from dashboards.verify import load_dashboards, verify_all

console = Console(stderr=True)

source_option = click.option(
    "--dir",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    default=GENERATED_DIR,
    show_default="dashboards/generated",
    help="Folder of generated dashboards (one sub-folder per Grafana folder).",
)
serving_option = click.option(
    "--serving",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Serving DuckDB file  [default: <root>/serving/current.duckdb]",
)


def _serving(root: Path, serving: Path | None) -> Path:
    path = serving if serving is not None else DataRoot.at(root).serving_db
    if not path.is_file():
        raise InputError("no serving file here; run the pipeline (or `aigrid demo`) first", file=path)
    return path


def _dashboards(source: Path) -> list[dict[str, object]]:
    found = load_dashboards(source) if source.is_dir() else []
    if not found:
        raise InputError("no dashboard JSON files; run `aigrid dashboards build` first", file=source)
    return found


@dashboards.command("build")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=GENERATED_DIR,
    show_default="dashboards/generated",
    help="Where to write <folder uid>/<dashboard uid>.json.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files differ from the catalogue.")
def build_cmd(out: Path, check: bool) -> None:
    """Generate the dashboards from the catalogue (byte-identical on every run)."""
    if check:
        problems = drift(out)
        for line in problems:
            click.echo(f"drift: {line}")
        if problems:
            raise click.ClickException(f"{len(problems)} file(s) differ; run `aigrid dashboards build`")
        click.echo(f"{out}: up to date")
        return
    result = build(out)
    table = Table("dashboard", "panels", "file", "status")
    status = dict.fromkeys(result.written, "written") | dict.fromkeys(result.unchanged, "unchanged")
    for path, state in sorted(status.items()):
        data = load_dashboards(path.parent)
        d = next(x for x in data if f"{x['uid']}.json" == path.name)
        panels = sum(1 for p in d["panels"] if p["type"] != "row")
        table.add_row(str(d["title"]), str(panels), str(path.relative_to(out)), state)
    for path in result.removed:
        table.add_row("—", "—", str(path.relative_to(out)), "removed")
    Console().print(table)


@dashboards.command("verify")
@root_option
@serving_option
@source_option
def verify_cmd(root: Path, serving: Path | None, source: Path) -> None:
    """Check the dashboards without Grafana: JSON Schemas, lint rules, and every query on the serving file."""
    found = _dashboards(source)
    problems = [f"{d['uid']}: {e}" for d in found for e in [*validate(d), *lint(d)]]
    con = duckdb.connect(str(_serving(root, serving)), read_only=True)
    try:
        report = verify_all(con, found)
    finally:
        con.close()
    problems += [str(p) for p in report.problems]
    for line in problems:
        click.echo(line)
    summary = f"{len(found)} dashboards, {report.queries} queries run, {len(problems)} problem(s)"
    if problems:
        raise click.ClickException(summary)
    click.echo(summary)


@dashboards.command("preview")
@root_option
@serving_option
@source_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for PNGs.")
@click.option("--hours", type=click.IntRange(1, 24 * 400), default=24, show_default=True, help="Time range.")
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]),
    default=None,
    help="End of the range, UTC  [default: end of the newest hour in the serving file]",
)
def preview_cmd(root: Path, serving: Path | None, source: Path, out: Path, hours: int, end: dt.datetime | None) -> None:
    """Draw every dashboard's panels to PNG with an index.html, from the same queries Grafana runs."""
    from dashboards.preview import preview  # matplotlib is only needed here

    path = _serving(root, serving)
    count = len(_dashboards(source))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("drawing", total=count)

        def step(title: str) -> None:
            progress.update(task, advance=1, description=title)

        result = preview(
            path,
            out,
            source,
            end=end.replace(tzinfo=dt.UTC) if end else None,
            span=dt.timedelta(hours=hours),
            on_dashboard=step,
        )
    empty = sum(1 for d in result.dashboards for p in d.panels if p.note)
    click.echo(
        f"{len(result.dashboards)} dashboards drawn to {out} ({empty} panel(s) without data); open {result.index}"
    )


@dashboards.command("publish")
@click.option("--url", required=True, help="Grafana base URL, e.g. https://grafana.example.org")
@click.option(
    "--token-env",
    default=DEFAULT_TOKEN_ENV,
    show_default=True,
    help="Environment variable that holds the service-account token.",
)
@source_option
def publish_cmd(url: str, token_env: str, source: Path) -> None:
    """Upload folders and dashboards to a running Grafana, overwriting by uid."""
    token = token_from_env(token_env)
    try:
        result = publish(url, token, source)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"published {len(result.dashboards)} dashboards to {url} "
        f"(folders created: {', '.join(result.folders_created) or 'none'}; "
        f"renamed: {', '.join(result.folders_renamed) or 'none'})"
    )

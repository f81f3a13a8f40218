"""The ``aigrid`` command group and its sub-groups; command modules attach themselves to these.

The CLI is a thin shell: each command parses its flags, calls into ``collectors``, ``pipelines`` or
``dashboards``, and prints. User mistakes surface as :class:`collectors.errors.InputError` and are printed
as one line by :func:`aigrid.cli.main`, never as a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

DEFAULT_ROOT_ENV = "AIGRID_ROOT"
DEFAULT_ROOT = Path(".aigrid") / "demo"


def default_root() -> Path:
    """The data root: ``$AIGRID_ROOT`` if set, else ``.aigrid/demo`` under the current directory."""
    return Path(os.environ.get(DEFAULT_ROOT_ENV, DEFAULT_ROOT))


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_root,
    show_default=f"${DEFAULT_ROOT_ENV} or {DEFAULT_ROOT}",
    help="Data root (landing zone, inbox, warehouse, serving file).",
)

#: The collectors' spelling: ``--out`` (where readings land), ``--root`` accepted as the same data root.
landing_root_option = click.option(
    "--out",
    "--root",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_root,
    help="Data root to land into [default: $AIGRID_ROOT or .aigrid/demo].",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="aigrid")
def cli() -> None:
    """aigrid — GPU, AI-RAN and facility telemetry for AI factories, from collectors to Grafana."""


@cli.group()
def collect() -> None:
    """Run a collector: read a live source and land its readings as Parquet batches."""


@cli.group()
def parse() -> None:
    """Parse one file the way the collectors do and print the records (for debugging a source)."""


@cli.group()
def dashboards() -> None:
    """Build, preview and publish the Grafana dashboards."""


@cli.group()
def report() -> None:
    """Write reports (tenant statements) from the serving database."""

"""Entry point of the ``aigrid`` command line."""

from __future__ import annotations

import sys

import click

import aigrid.cli.commands  # noqa: F401  (command modules attach themselves to the groups in base)
from aigrid.cli.base import cli
from collectors.errors import InputError

__all__ = ["cli", "main"]


def main() -> None:
    """Run the CLI; a user mistake prints one line and exits 2 instead of a traceback."""
    try:
        cli.main(standalone_mode=False)
    except InputError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)

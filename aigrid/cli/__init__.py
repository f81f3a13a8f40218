"""Entry point of the ``aigrid`` command line."""

from __future__ import annotations

import sys
import warnings

import click

# BackfillPolicy and pools are Dagster beta/preview features that aigrid uses on purpose; their warnings are
# noise to a user of the command line.
warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")

import aigrid.cli.commands  # noqa: F401, E402  (command modules attach themselves to the groups in base)
from aigrid.cli.base import cli  # noqa: E402
from collectors.errors import InputError  # noqa: E402

__all__ = ["cli", "main"]


def main() -> None:
    """Run the CLI; a user mistake prints one line and exits 2 instead of a traceback."""
    try:
        code = cli.main(standalone_mode=False)
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
    sys.exit(code if isinstance(code, int) else 0)

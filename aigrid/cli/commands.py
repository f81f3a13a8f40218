"""Imports every command module so that its commands attach to the groups in :mod:`aigrid.cli.base`."""

from aigrid.cli import demo_cmd, report_cmd, simulate_cmd, sql_cmd

__all__ = ["demo_cmd", "report_cmd", "simulate_cmd", "sql_cmd"]

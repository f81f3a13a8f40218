"""Imports every command module so that its commands attach to the groups in :mod:`aigrid.cli.base`."""

from aigrid.cli import (
    collect_dcgm,
    collect_nvml,
    collect_prometheus,
    collect_redfish,
    dashboards_cmd,
    demo_cmd,
    parse_dcgm,
    parse_pm,
    report_cmd,
    simulate_cmd,
    sql_cmd,
)

__all__ = [
    "collect_dcgm",
    "collect_nvml",
    "collect_prometheus",
    "collect_redfish",
    "dashboards_cmd",
    "demo_cmd",
    "parse_dcgm",
    "parse_pm",
    "report_cmd",
    "simulate_cmd",
    "sql_cmd",
]

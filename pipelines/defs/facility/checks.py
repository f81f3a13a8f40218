"""Checks on facility energy and PUE: PUE below 1 is a failed check, not a value; coverage; one row per key."""

import dagster as dg

from pipelines.defs.inbox import quarantine_check
from pipelines.defs.quality.factory import WARN, offending_rows, ranges, table_checks, unique_keys

#: Hours in which facility energy came out below IT energy, or GPU energy above IT: the meters disagree.
PHYSICAL = "checks_failed LIKE '%pue_below_1%' OR checks_failed LIKE '%gpu_exceeds_it%'"


def _unphysical_sql(where: str) -> str:
    return (
        "SELECT site, hour, facility_kwh, it_kwh, gpu_kwh, checks_failed FROM pue_hourly "
        f"WHERE {where} AND ({PHYSICAL}) ORDER BY hour, site"
    )


def _low_coverage_sql(where: str) -> str:
    return (
        "SELECT site, hour, coverage_ratio FROM pue_hourly "
        f"WHERE {where} AND low_coverage AND hour < (SELECT max(hour) FROM pue_hourly) ORDER BY hour, site"
    )


def _pue_rollup(name: str) -> dg.AssetChecksDefinition:
    return table_checks(
        name,
        [
            unique_keys(name),
            ranges(name, {"pue_below_1": "pue < 1", "coverage_outside_0_1": "coverage_ratio NOT BETWEEN 0 AND 1"}),
        ],
    )


CHECKS = [
    table_checks("meter_reading", [unique_keys("meter_reading")]),
    table_checks(
        "meter_energy_hourly",
        [
            unique_keys("meter_energy_hourly"),
            ranges(
                "meter_energy_hourly",
                {"negative_energy": "energy_kwh < 0", "coverage_outside_0_1": "coverage_ratio NOT BETWEEN 0 AND 1"},
                blocking=True,
            ),
        ],
    ),
    table_checks(
        "pue_hourly",
        [
            unique_keys("pue_hourly"),
            offending_rows(
                "pue_hourly_physical",
                "No hour where facility energy is below IT energy (PUE < 1) or GPU energy exceeds IT energy.",
                _unphysical_sql,
            ),
            offending_rows(
                "pue_hourly_coverage",
                "Warns when hours before the latest have both sides metered for less than 90 % of the hour.",
                _low_coverage_sql,
                severity=WARN,
            ),
        ],
    ),
    _pue_rollup("pue_daily"),
    _pue_rollup("pue_monthly"),
    _pue_rollup("pue_rolling_12m"),
    quarantine_check("meter_csv", "meter_csv_inbox"),
]

"""Checks on the data-quality mart and the serving dimensions, plus the per-partition freshness checks."""

import dagster as dg

from pipelines.defs.automation import FRESHNESS_CHECKS
from pipelines.defs.quality.factory import key_check, range_check, sql_check

WARN = dg.AssetCheckSeverity.WARN
COVERAGE_WARN_RATIO = 0.95

KEY_CHECKS = [key_check("data_quality"), key_check("dim_site", blocking=False)]

RANGE_CHECKS = [
    range_check(
        "data_quality",
        {
            "reporting_above_expected": "reporting > expected",
            "coverage_outside_0_1": "coverage_ratio < 0 OR coverage_ratio > 1",
            "negative_counts": "files < 0 OR late_files > files OR quarantined_files < 0",
        },
    ),
    range_check("dim_site", {"pue_target_below_1": "pue_target < 1"}),
]

COVERAGE_CHECKS = [
    sql_check(
        "data_quality",
        "data_quality_sources_reporting",
        f"Warns when fewer than {COVERAGE_WARN_RATIO:.0%} of a site's expected GPUs, cells or meters reported in "
        "an hour.",
        lambda where: (
            f"""
            SELECT hour, site, source, expected, reporting FROM data_quality
            WHERE {where} AND expected > 0 AND coverage_ratio < {COVERAGE_WARN_RATIO} ORDER BY 1, 2, 3"""
        ),
        severity=WARN,
    ),
    sql_check(
        "data_quality",
        "data_quality_files_on_time",
        "Warns on files quarantined as unreadable (late files are counted in the metadata, not a failure: the "
        "late-data schedule picks them up).",
        lambda where: (
            f"""
            SELECT hour, site, source, quarantined_files, late_files FROM data_quality
            WHERE {where} AND quarantined_files > 0 ORDER BY 1, 2, 3"""
        ),
        severity=WARN,
    ),
]

__all__ = ["COVERAGE_CHECKS", "FRESHNESS_CHECKS", "KEY_CHECKS", "RANGE_CHECKS"]

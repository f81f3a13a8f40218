"""Checks on the data-quality mart and the serving dimensions, plus the per-partition freshness checks."""

from pipelines.defs.automation import FRESHNESS_CHECKS
from pipelines.defs.quality.factory import WARN, offending_rows, ranges, table_checks, unique_keys

COVERAGE_WARN_RATIO = 0.95


def _silent_sql(where: str) -> str:
    return f"""
        SELECT hour, site, source, expected, reporting FROM data_quality
        WHERE {where} AND expected > 0 AND coverage_ratio < {COVERAGE_WARN_RATIO} ORDER BY 1, 2, 3"""


def _quarantined_sql(where: str) -> str:
    return f"""
        SELECT hour, site, source, quarantined_files FROM data_quality
        WHERE {where} AND quarantined_files > 0 ORDER BY 1, 2, 3"""


CHECKS = [
    table_checks(
        "data_quality",
        [
            unique_keys("data_quality"),
            ranges(
                "data_quality",
                {
                    "reporting_above_expected": "reporting > expected",
                    "coverage_outside_0_1": "coverage_ratio < 0 OR coverage_ratio > 1",
                    "negative_counts": "files < 0 OR late_files > files OR quarantined_files < 0",
                },
            ),
            offending_rows(
                "data_quality_sources_reporting",
                f"Warns when fewer than {COVERAGE_WARN_RATIO:.0%} of a site's expected GPUs, cells or meters "
                "reported in an hour.",
                _silent_sql,
                severity=WARN,
            ),
            offending_rows(
                "data_quality_no_quarantined_files",
                "Warns on files quarantined as unreadable (late files are counted in the metadata, not a failure: "
                "the late-data schedule picks them up).",
                _quarantined_sql,
                severity=WARN,
            ),
        ],
    ),
    table_checks(
        "quarantined_file",
        [
            unique_keys("quarantined_file"),
            ranges(
                "quarantined_file",
                {
                    "without_reason": "reason IS NULL OR reason = ''",
                    "unknown_source": "source NOT IN ('ran_pm', 'facility')",
                },
            ),
        ],
    ),
    table_checks(
        "collector_health_hourly",
        [
            unique_keys("collector_health_hourly"),
            ranges(
                "collector_health_hourly",
                {
                    "failures_above_attempts": "failures > attempts OR failures < 0 OR attempts < 1",
                    "ok_ratio_outside_0_1": "ok_ratio < 0 OR ok_ratio > 1",
                },
            ),
        ],
    ),
    table_checks(
        "dim_site",
        [unique_keys("dim_site", blocking=False), ranges("dim_site", {"pue_target_below_1": "pue_target < 1"})],
    ),
]

__all__ = ["CHECKS", "FRESHNESS_CHECKS"]

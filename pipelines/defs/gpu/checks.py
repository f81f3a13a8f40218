"""Checks on the GPU tables: unique keys, physical ranges, histogram and daily invariants, coverage."""

from pipelines.defs.quality.factory import WARN, offending_rows, ranges, table_checks, unique_keys


def _hist_sql(where: str) -> str:
    return (
        "SELECT site, gpu_uuid, hour, util_samples, list_sum(util_hist) AS in_hist FROM gpu_hourly "
        f"WHERE {where} AND util_samples <> list_sum(util_hist) ORDER BY hour, site, gpu_uuid"
    )


def _daily_sql(where: str) -> str:
    return f"""
        WITH h AS (SELECT CAST(hour AS DATE) AS day, site, gpu_uuid, sum(samples) AS samples,
                          sum(energy_kwh) AS kwh, sum(busy_s) AS busy
                   FROM gpu_hourly WHERE hour >= ? AND hour < ? GROUP BY ALL),
             d AS (SELECT day, site, gpu_uuid, samples, energy_kwh AS kwh, busy_s AS busy FROM gpu_daily WHERE {where})
        SELECT coalesce(d.day, h.day) AS day, coalesce(d.site, h.site) AS site,
               coalesce(d.gpu_uuid, h.gpu_uuid) AS gpu_uuid, h.samples, d.samples, h.kwh, d.kwh
        FROM h FULL JOIN d USING (day, site, gpu_uuid)
        WHERE h.samples IS DISTINCT FROM d.samples
           OR abs(coalesce(h.kwh, 0) - coalesce(d.kwh, 0)) > 1e-6 * greatest(abs(h.kwh), 1e-6)
           OR abs(coalesce(h.busy, 0) - coalesce(d.busy, 0)) > 1e-6 * greatest(abs(h.busy), 1e-6)
        ORDER BY 1, 2, 3"""


CHECKS = [
    table_checks(
        "gpu_sample",
        [
            unique_keys("gpu_sample"),
            ranges(
                "gpu_sample",
                {
                    "util_outside_0_1": "util_ratio < 0 OR util_ratio > 1",
                    "negative_power": "power_w < 0",
                    "negative_energy": "energy_j < 0",
                    "interval_not_positive": "interval_s <= 0",
                },
                blocking=True,
            ),
        ],
    ),
    table_checks(
        "gpu_hourly",
        [
            unique_keys("gpu_hourly"),
            ranges(
                "gpu_hourly",
                {
                    "util_outside_0_1": "util_mean_ratio < 0 OR util_mean_ratio > 1 OR util_max_ratio > 1",
                    "negative_energy_or_power": "energy_kwh < 0 OR power_mean_w < 0",
                    # The last sample of an hour may be carried up to three intervals past its end.
                    "more_than_an_hour": "sample_s > 3600 + 3 * 60",
                    "throttle_beyond_samples": "throttled_s > sample_s + 1e-6",
                    "hist_not_101_bins": "len(util_hist) <> 101",
                    "temperature_implausible": "temp_max_c < -20 OR temp_max_c > 130",
                },
            ),
            offending_rows(
                "gpu_hourly_histogram_counts_samples",
                "The utilisation histogram of every GPU-hour counts exactly its samples with a utilisation reading.",
                _hist_sql,
            ),
            offending_rows(
                "gpu_hourly_coverage",
                "Every GPU-hour before the latest is at least 90 % covered by samples (warns on silent GPUs).",
                lambda where: (
                    "SELECT site, gpu_uuid, hour, sample_s FROM gpu_hourly "
                    f"WHERE {where} AND hour < (SELECT max(hour) FROM gpu_hourly) AND sample_s < 0.9 * 3600 "
                    "ORDER BY hour, site, gpu_uuid"
                ),
                severity=WARN,
            ),
        ],
    ),
    table_checks(
        "gpu_daily",
        [
            unique_keys("gpu_daily"),
            ranges(
                "gpu_daily",
                {
                    "percentiles_out_of_order": "util_p50_ratio > util_p95_ratio OR util_p95_ratio > util_p99_ratio",
                    "util_outside_0_1": "util_mean_ratio < 0 OR util_mean_ratio > 1 OR util_p99_ratio > 1",
                    "more_than_a_day": "hours > 24 OR sample_s > 86400 + 180",
                },
            ),
            offending_rows(
                "gpu_daily_equals_hours",
                "Each GPU-day's samples, energy and busy time equal the sum of its GPU-hours.",
                _daily_sql,
                params_per_scope=2,
            ),
        ],
    ),
    table_checks(
        "node_daily",
        [
            unique_keys("node_daily"),
            ranges(
                "node_daily",
                {
                    "percentiles_out_of_order": "util_p50_ratio > util_p95_ratio OR util_p95_ratio > util_p99_ratio",
                    "no_gpus": "gpus < 1",
                },
            ),
        ],
    ),
    table_checks(
        "gpu_health_events",
        [
            unique_keys("gpu_health_events"),
            ranges(
                "gpu_health_events",
                {
                    "unknown_severity": "severity NOT IN ('critical', 'warning', 'info')",
                    "unknown_origin": "origin NOT IN ('reported', 'derived')",
                },
            ),
        ],
    ),
    table_checks("gpu_last", [unique_keys("gpu_last", blocking=False)]),
    table_checks("dim_gpu", [unique_keys("dim_gpu", blocking=False)]),
]

"""Checks on the RAN tables: one row per key, KPIs within physical ranges; the PM quarantine."""

from pipelines.defs.inbox import quarantine_check
from pipelines.defs.quality.factory import ranges, table_checks, unique_keys

CHECKS = [
    table_checks(
        "ran_pm_record",
        [
            unique_keys("ran_pm_record"),
            ranges(
                "ran_pm_record",
                {"period_not_positive": "period_end <= period_start", "granularity_not_positive": "granularity_s <= 0"},
            ),
        ],
    ),
    table_checks(
        "ran_cell_hourly",
        [
            unique_keys("ran_cell_hourly"),
            ranges(
                "ran_cell_hourly",
                {
                    "prb_outside_0_1": "prb_util_dl_ratio NOT BETWEEN 0 AND 1 OR prb_util_ul_ratio NOT BETWEEN 0 AND 1",
                    "negative_volume": "volume_dl_mbit < 0 OR volume_ul_mbit < 0",
                    "negative_rate_or_count": "ue_thp_dl_kbps < 0 OR ue_thp_ul_kbps < 0 OR rrc_conn_mean < 0",
                    "covered_beyond_hour": "covered_s < 0 OR covered_s > 3600",
                },
                blocking=True,
            ),
        ],
    ),
    table_checks(
        "ran_gnb_hourly",
        [
            unique_keys("ran_gnb_hourly"),
            ranges(
                "ran_gnb_hourly",
                {
                    "negative_energy_or_power": "energy_kwh < 0 OR power_mean_w < 0",
                    "efficiency_without_energy": "ee_bit_per_j IS NOT NULL AND NOT energy_kwh > 0",
                },
            ),
        ],
    ),
    quarantine_check("ran_pm", "ran_pm_inbox"),
]

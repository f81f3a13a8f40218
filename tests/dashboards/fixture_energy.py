"""Energy rows of the dashboard fixture: hourly PUE and meters for the six hours, 400 days of daily PUE, the
months summed from those days and the rolling 12 months through the pipeline's own function.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from pipelines.lib.pue import pue_rolling_12m
from tests.dashboards import fixture_world as w

GPU_KWH_PER_HOUR = w.NODES_PER_SITE * w.GPUS_PER_NODE * 0.45
OTHER_IT_KWH = 3.0


def site_pue(site_i: int, h: int) -> float:
    return 1.30 + 0.02 * h + 0.1 * site_i


def hourly() -> w.Rows:
    pue_h, meters, quality = [], [], []
    for si, (site, *_) in enumerate(w.SITES):
        for h, hour in enumerate(w.hours()):
            it = GPU_KWH_PER_HOUR + OTHER_IT_KWH
            pue = site_pue(si, h)
            low = site == "osa1" and h == 1
            pue_h.append(
                {
                    "hour": hour,
                    "site": site,
                    "facility_kwh": it * pue,
                    "it_kwh": it,
                    "gpu_kwh": GPU_KWH_PER_HOUR,
                    "other_it_kwh": OTHER_IT_KWH,
                    "cooling_kwh": it * (pue - 1) * 0.8,
                    "pue": pue,
                    "cooling_ppue": 1 + (pue - 1) * 0.8,
                    "category": 2 if site == "tyo1" else 3,
                    "coverage_ratio": 0.7 if low else 1.0,
                    "low_coverage": low,
                }
            )
            covered_total = 0.0
            for meter, role, kwh in (
                (f"{site}-utility-kwh", "facility_total", it * pue),
                (f"{site}-ups-out-kwh", "ups_output", it),
                (f"{site}-chiller-kwh", "cooling", it * (pue - 1) * 0.8),
            ):
                gap = role == "cooling" and h == 2
                covered = 2400.0 if gap else 3600.0
                covered_total += covered
                meters.append(
                    {
                        "hour": hour,
                        "site": site,
                        "meter_id": meter,
                        "role": role,
                        "energy_kwh": kwh,
                        "covered_s": covered,
                        "coverage_ratio": covered / 3600.0,
                        "resets": 1 if role == "facility_total" and h == 4 else 0,
                        "interpolated": gap,
                    }
                )
            quality.append(
                {
                    "hour": hour,
                    "site": site,
                    "source": "facility",
                    "unit": "meters",
                    "expected": 3,
                    "reporting": 3,
                    "missing": 0,
                    "coverage_ratio": 1.0,
                    "time_coverage_ratio": covered_total / (3 * 3600.0),
                    "records": 180,
                    "files": 1,
                    "late_files": 0,
                    "max_delay_s": 65.0,
                    "quarantined_files": 0,
                }
            )
    # A meter CSV quarantined at 10:00 whose site could not be told (its header was unreadable).
    quality.append(
        {
            "hour": w.START + dt.timedelta(hours=4),
            "site": "unknown",
            "source": "facility",
            "unit": "meters",
            "expected": 0,
            "reporting": 0,
            "missing": 0,
            "records": 0,
            "files": 0,
            "late_files": 0,
            "quarantined_files": 1,
        }
    )
    held = {
        "hour": w.START + dt.timedelta(hours=4),
        "site": "unknown",
        "source": "facility",
        "kind": "meter_csv",
        "file": "bms-export.csv",
        "line": 1,
        "field": "header",
        "reason": "no header row: the first line names no timestamp and meter columns",
        "arrived_at": w.START + dt.timedelta(hours=4, minutes=12),
        "quarantined_at": w.START + dt.timedelta(hours=4, minutes=13),
        "sha256": "0" * 64,
        "quarantined_as": "quarantine/meter_csv/bms-export.csv",
    }
    return {"pue_hourly": pue_h, "meter_energy_hourly": meters, "data_quality": quality, "quarantined_file": [held]}


def daily_pue() -> list[dict[str, Any]]:
    rows = []
    for si, (site, *_) in enumerate(w.SITES):
        for back in range(w.DAILY_DAYS):
            day = w.TODAY - dt.timedelta(days=back)
            pue = 1.36 + 0.08 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 210) / 365) + 0.05 * si
            rows.append(
                {
                    "day": day,
                    "site": site,
                    "facility_kwh": 250.0 * pue,
                    "it_kwh": 250.0,
                    "gpu_kwh": 200.0,
                    "cooling_kwh": 250.0 * (pue - 1) * 0.8,
                    "other_it_kwh": 50.0,
                    "pue": pue,
                    "cooling_ppue": 1 + (pue - 1) * 0.8,
                    "category": 2 if site == "tyo1" else 3,
                    "coverage_ratio": 1.0,
                    "low_coverage": False,
                    "hours_used": 24,
                }
            )
    return rows


def monthly_pue(daily: list[dict[str, Any]]) -> pl.DataFrame:
    """Calendar months summed from the days (coverage: days present over days in the month)."""
    days = pl.DataFrame(daily).with_columns(month=pl.col("day").dt.truncate("1mo"))
    months = days.group_by("site", "month").agg(
        pl.col("facility_kwh", "it_kwh", "gpu_kwh", "cooling_kwh", "other_it_kwh").sum(),
        pl.col("category").min(),
        pl.col("hours_used").sum(),
    )
    in_month = pl.col("month").dt.month_end().dt.day().cast(pl.Float64) * 24.0
    return months.with_columns(
        pue=pl.col("facility_kwh") / pl.col("it_kwh"),
        cooling_ppue=(pl.col("it_kwh") + pl.col("cooling_kwh")) / pl.col("it_kwh"),
        coverage_ratio=pl.col("hours_used") / in_month,
        low_coverage=pl.col("hours_used") / in_month < 0.9,
    ).sort("site", "month")


def tables() -> w.Rows:
    daily = daily_pue()
    months = monthly_pue(daily)
    return {
        **hourly(),
        "pue_daily": daily,
        "pue_monthly": months.to_dicts(),
        "pue_rolling_12m": pue_rolling_12m(months).to_dicts(),
    }

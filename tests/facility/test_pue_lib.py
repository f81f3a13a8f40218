"""PUE library rules: category choice, failed checks, rollups from sums, rolling 12 months, registry use."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from collectors.facility.registry import Meter, registry_from_meters
from pipelines.lib.pue import meter_energy_hourly, pue_hourly, pue_rolling_12m, pue_rollup
from pipelines.tables.facility import PUE_MONTHLY, PUE_ROLLING_12M

H0 = dt.datetime(2026, 11, 20, 0)


def _meter_hours(rows: list[tuple[int, str, str, str, float | None, float]]) -> pl.DataFrame:
    """(hour offset, site, meter, role, kWh, coverage) → meter_energy_hourly-shaped rows."""
    return pl.DataFrame(
        {
            "hour": [H0 + dt.timedelta(hours=h) for h, *_ in rows],
            "site": [r[1] for r in rows],
            "meter_id": [r[2] for r in rows],
            "role": [r[3] for r in rows],
            "energy_kwh": pl.Series([r[4] for r in rows], dtype=pl.Float64),
            "covered_s": [r[5] * 3600 for r in rows],
            "coverage_ratio": [r[5] for r in rows],
            "resets": [0] * len(rows),
            "interpolated": [False] * len(rows),
        }
    )


NO_GPU = pl.DataFrame(schema={"site": pl.String, "hour": pl.Datetime("us"), "gpu_kwh": pl.Float64})


def test_best_it_metering_point_sets_the_category_per_hour() -> None:
    rows = _meter_hours(
        [
            (0, "s", "util", "facility_total", 130.0, 1.0),
            (0, "s", "ups", "ups_output", 110.0, 1.0),
            (0, "s", "pdu-1", "pdu_output", 52.0, 1.0),
            (0, "s", "pdu-2", "pdu_output", 48.0, 0.95),
            (0, "s", "outlets", "it_input", 95.0, 1.0),
            (1, "s", "util", "facility_total", 130.0, 1.0),
            (1, "s", "ups", "ups_output", 110.0, 1.0),
            (1, "s", "pdu-1", "pdu_output", 52.0, 1.0),
            (1, "s", "pdu-2", "pdu_output", 48.0, 0.95),
            (1, "s", "outlets", "it_input", None, 0.0),  # the IT-input meter had no data this hour
            (2, "s", "util", "facility_total", 130.0, 1.0),
            (2, "s", "ups", "ups_output", 110.0, 1.0),
            (2, "s", "mystery", "lighting", 3.0, 1.0),
        ]
    )
    out = pue_hourly(rows, NO_GPU)
    assert out.select("category", "it_kwh", "coverage_ratio").rows() == [
        (3, 95.0, 1.0),
        (2, 100.0, 0.95),  # both PDU meters summed; the weaker coverage of the two
        (1, 110.0, 1.0),
    ]
    assert out["pue"].to_list() == pytest.approx([130 / 95, 1.3, 130 / 110])
    assert out["gpu_kwh"].to_list() == [None, None, None]
    assert out["cooling_ppue"].to_list() == [None, None, None]


def test_impossible_or_incomplete_hours_are_failed_checks_not_values() -> None:
    rows = _meter_hours(
        [
            (0, "s", "util", "facility_total", 90.0, 1.0),  # less than IT: PUE 0.9 is impossible
            (0, "s", "it", "it_input", 100.0, 1.0),
            (1, "s", "it", "it_input", 100.0, 1.0),  # no facility meter data
            (2, "s", "util", "facility_total", 120.0, 1.0),  # no IT
            (3, "s", "util", "facility_total", 120.0, 1.0),
            (3, "s", "it", "it_input", 100.0, 1.0),
        ]
    )
    gpu = pl.DataFrame({"site": ["s", "s"], "hour": [H0, H0 + dt.timedelta(hours=3)], "gpu_kwh": [60.0, 130.0]})
    out = pue_hourly(rows, gpu)
    assert out.select("pue", "checks_failed", "low_coverage").rows() == [
        (None, "pue_below_1", False),
        (None, "missing_facility", True),
        (None, "missing_it", True),
        (1.2, "gpu_exceeds_it", False),
    ]
    assert out["other_it_kwh"].to_list() == [40.0, None, None, None]


def test_gpu_frame_with_aware_hours_and_several_sites() -> None:
    rows = _meter_hours(
        [
            (0, "a", "util-a", "facility_total", 140.0, 1.0),
            (0, "a", "it-a", "pdu_output", 100.0, 1.0),
            (0, "b", "util-b", "facility_total", 250.0, 1.0),
            (0, "b", "it-b", "it_input", 200.0, 0.5),
        ]
    )
    gpu = pl.DataFrame(
        {"site": ["a", "b"], "hour": [H0.replace(tzinfo=dt.UTC)] * 2, "gpu_kwh": [70.0, 150.0]}
    ).with_columns(pl.col("hour").dt.convert_time_zone("Asia/Tokyo"))
    out = pue_hourly(rows, gpu, low_coverage_below=0.6)
    assert out.select("site", "pue", "category", "gpu_kwh", "other_it_kwh", "low_coverage").rows() == [
        ("a", 1.4, 2, 70.0, 30.0, False),
        ("b", 1.25, 3, 150.0, 50.0, True),
    ]
    assert out["hour"].dtype == pl.Datetime("us")


def test_monthly_rollup_counts_missing_hours_against_coverage() -> None:
    hours = [
        {"hour": dt.datetime(2026, 2, 1) + dt.timedelta(hours=h), "site": "s", "facility_kwh": f, "it_kwh": i}
        for h, (f, i) in enumerate([(150.0, 100.0), (130.0, 100.0), (95.0, 100.0)])
    ]
    frame = pl.DataFrame(hours).with_columns(
        gpu_kwh=pl.lit(50.0),
        other_it_kwh=pl.lit(50.0),
        cooling_kwh=pl.lit(None, dtype=pl.Float64),
        pue=pl.when(pl.col("facility_kwh") >= pl.col("it_kwh")).then(pl.col("facility_kwh") / pl.col("it_kwh")),
        category=pl.Series([3, 2, 3], dtype=pl.Int32),
        coverage_ratio=pl.lit(1.0),
    )
    month = pue_rollup(frame, "month")
    assert month.columns == list(PUE_MONTHLY.column_names)
    row = month.row(0, named=True)
    # The third hour failed its check (PUE 0.95) and stays out of both sums.
    assert (row["month"], row["facility_kwh"], row["it_kwh"], row["pue"]) == (dt.date(2026, 2, 1), 280.0, 200.0, 1.4)
    assert row["category"] == 2
    assert row["hours_used"] == 2
    assert row["coverage_ratio"] == pytest.approx(2 / (28 * 24))
    assert row["gpu_kwh"] == 100.0


def _months(values: dict[str, tuple[float, float, float]]) -> pl.DataFrame:
    """month 'YYYY-MM' → (facility kWh, IT kWh, coverage) as PUE_MONTHLY rows."""
    return pl.DataFrame(
        {
            "month": [dt.date(int(k[:4]), int(k[5:]), 1) for k in values],
            "site": ["s"] * len(values),
            "facility_kwh": [v[0] for v in values.values()],
            "it_kwh": [v[1] for v in values.values()],
            "gpu_kwh": [None] * len(values),
            "cooling_kwh": [None] * len(values),
            "pue": [v[0] / v[1] for v in values.values()],
            "category": pl.Series([3] * len(values), dtype=pl.Int32),
            "coverage_ratio": [v[2] for v in values.values()],
        }
    )


def test_rolling_twelve_months_sums_energy_and_marks_partial_windows_interim() -> None:
    values = {f"2026-{m:02d}": (140.0, 100.0, 1.0) for m in range(1, 13)}
    values["2026-07"] = (1300.0, 1000.0, 1.0)  # a big month pulls the ratio towards 1.3
    values["2027-01"] = (120.0, 100.0, 1.0)
    out = pue_rolling_12m(_months(values))
    assert out.columns == list(PUE_ROLLING_12M.column_names)
    dec = out.filter(pl.col("month") == dt.date(2026, 12, 1)).row(0, named=True)
    assert dec["window_start"] == dt.date(2026, 1, 1)
    assert dec["facility_kwh"] == pytest.approx(11 * 140 + 1300)
    assert dec["pue"] == pytest.approx((11 * 140 + 1300) / (11 * 100 + 1000))
    assert (dec["months_used"], dec["window_type"], dec["low_coverage"]) == (12, "ttm", False)
    assert dec["coverage_ratio"] == pytest.approx(1.0)
    jan27 = out.filter(pl.col("month") == dt.date(2027, 1, 1)).row(0, named=True)
    assert jan27["facility_kwh"] == pytest.approx(10 * 140 + 1300 + 120)  # January 2026 left the window
    first = out.row(0, named=True)
    assert (first["month"], first["months_used"], first["window_type"]) == (dt.date(2026, 1, 1), 1, "interim")
    assert first["coverage_ratio"] == pytest.approx(31 / 365)
    assert out.height == 13


def test_registry_rating_rejects_glitches_and_unregistered_meters_keep_a_null_role() -> None:
    registry = registry_from_meters(
        [
            Meter(id="util", site="s", role="facility_total", quantity="energy_register", unit="kWh", rating_kw=100),
            Meter(
                id="rewired",
                site="s",
                role="pdu_output",
                quantity="energy_register",
                unit="kWh",
                valid_to=dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC),
            ),
            Meter(
                id="rewired",
                site="s",
                role="it_input",
                quantity="energy_register",
                unit="kWh",
                valid_from=dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC),
            ),
        ]
    )
    ts = [dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=30 * i) for i in range(5)]
    readings = pl.DataFrame(
        {
            "ts": ts * 3,
            "site": ["s"] * 15,
            "meter_id": ["util"] * 5 + ["rewired"] * 5 + ["redfish-outlet#EnergykWh"] * 5,
            # util jumps by 500 kWh in 30 min (1 MW on a 100 kW meter) once and stays there.
            "energy_kwh": [*[0.0, 40.0, 540.0, 580.0, 620.0], *[0.0, 30.0, 60.0, 90.0, 120.0], *[5.0, 5.5, 6, 6.5, 7]],
            "power_w": [None] * 15,
            "source": ["test"] * 15,
            "producer": ["test"] * 15,
        }
    )
    out = meter_energy_hourly(readings, registry)
    got = {
        (r["meter_id"], r["hour"].hour): (r["role"], r["energy_kwh"], r["coverage_ratio"])
        for r in out.iter_rows(named=True)
    }
    assert got[("util", 0)] == ("facility_total", 40.0, 0.5)  # 00:30-01:00 rejected: no energy, not covered
    assert got[("util", 1)] == ("facility_total", 80.0, 1.0)
    assert got[("rewired", 0)] == ("pdu_output", 60.0, 1.0)
    assert got[("rewired", 1)] == ("it_input", 60.0, 1.0)
    assert got[("redfish-outlet#EnergykWh", 0)] == (None, 1.0, 1.0)
    assert out.filter(pl.col("meter_id") == "util")["resets"].sum() == 0


def test_power_meters_integrate_and_empty_inputs_give_empty_tables() -> None:
    registry = registry_from_meters([Meter(id="crah", site="s", role="cooling", quantity="power", unit="kW")])
    ts = [dt.datetime(2026, 11, 20, 0, 0) + dt.timedelta(minutes=15 * i) for i in range(5)]
    readings = pl.DataFrame(
        {
            "ts": ts,
            "site": ["s"] * 5,
            "meter_id": ["crah"] * 5,
            "power_w": [10_000.0, 20_000.0, 20_000.0, 20_000.0, 10_000.0],
        }
    ).with_columns(energy_kwh=pl.lit(None, dtype=pl.Float64), register_reset_at=pl.lit(None, dtype=pl.Datetime("us")))
    out = meter_energy_hourly(readings, registry)
    # Trapezoids: 15 kW, 20, 20, 15 for a quarter hour each = 17.5 kWh.
    assert out.select("role", "energy_kwh", "covered_s").rows() == [("cooling", pytest.approx(17.5), 3600.0)]
    empty = meter_energy_hourly(readings.head(0), registry)
    assert empty.is_empty()
    assert pue_hourly(empty, NO_GPU).is_empty()
    assert pue_rollup(pue_hourly(empty, NO_GPU), "day").is_empty()
    assert pue_rolling_12m(pue_rollup(pue_hourly(empty, NO_GPU), "month")).is_empty()

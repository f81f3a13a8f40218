"""Energy from counters: deltas, duplicates, resets (known and unknown time), wraps, caps, glitches, gaps."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from bench.facility_energy import reference_hourly, synthetic_readings
from pipelines.lib.counters import power_intervals, register_intervals, spread_hourly

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def frame(
    points: list[tuple[float, float]], *, meter: str = "m1", reset: list[dt.datetime | None] | None = None
) -> pl.DataFrame:
    data: dict[str, object] = {
        "meter": [meter] * len(points),
        "ts": pl.Series([at(m) for m, _ in points], dtype=pl.Datetime("us", "UTC")),
        "energy_kwh": [float(v) for _, v in points],
    }
    if reset is not None:
        data["reset_at"] = pl.Series(reset, dtype=pl.Datetime("us", "UTC"))
    return pl.DataFrame(data)


def test_deltas_split_pro_rata_across_hours() -> None:
    readings = frame([(0, 100.0), (50, 110.0), (70, 112.0), (130, 124.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh")
    assert intervals.select("start", "end", "energy", "method").rows() == [
        (at(0), at(50), 10.0, "delta"),
        (at(50), at(70), 2.0, "delta"),
        (at(70), at(130), 12.0, "delta"),
    ]
    hourly = spread_hourly(intervals, series=["meter"])
    # 12:00-13:00: 10 + 2 * 10/20 = 11; 13:00-14:00: 1 + 12 * 50/60 = 11; 14:00-14:10: 12 * 10/60 = 2.
    assert hourly.select("hour", "energy", "covered_s", "interpolated", "resets").rows() == [
        (at(0), pytest.approx(11.0), 3600.0, False, 0),
        (at(60), pytest.approx(11.0), 3600.0, False, 0),
        (at(120), pytest.approx(2.0), 600.0, False, 0),
    ]
    assert hourly["energy"].sum() == pytest.approx(24.0)  # = last - first: nothing lost or invented


def test_duplicates_collapse_before_anything_else() -> None:
    readings = frame([(0, 100.0), (15, 105.0), (15, 105.0), (15, 104.0), (30, 110.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh")
    assert intervals["energy"].to_list() == [5.0, 5.0]
    assert intervals["method"].to_list() == ["delta", "delta"]


def test_reset_with_known_time_counts_from_the_reset() -> None:
    reset_time = at(24)
    readings = frame(
        [(0, 5000.0), (15, 5020.0), (30, 8.0), (45, 28.0)],
        reset=[None, None, reset_time, reset_time],
    )
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh", reset_at="reset_at")
    row = intervals.row(1, named=True)
    assert (row["method"], row["energy"], row["lower_bound"], row["reset_time"]) == ("reset", 8.0, False, reset_time)
    assert intervals["method"].to_list() == ["delta", "reset", "delta"]
    hourly = spread_hourly(intervals, series=["meter"])
    # 12:15-12:24 is unmeasured: 540 s less coverage; energy 20 + 8 + 20.
    assert hourly.rows() == [("m1", at(0), pytest.approx(48.0), 3600.0 - 540.0 - 900.0, False, 1)]


def test_reset_marker_change_is_a_reset_even_when_the_value_grew() -> None:
    readings = frame([(0, 10.0), (15, 12.0), (30, 30.0)], reset=[at(-600), at(-600), at(20)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh", reset_at="reset_at")
    assert intervals.select("method", "energy", "lower_bound").rows() == [("delta", 2.0, False), ("reset", 30.0, False)]


def test_drop_without_reset_time_is_a_flagged_lower_bound() -> None:
    readings = frame([(0, 500.0), (15, 520.0), (30, 3.0), (45, 23.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh")
    assert intervals.select("method", "energy", "lower_bound").rows() == [
        ("delta", 20.0, False),
        ("reset", 3.0, True),
        ("delta", 20.0, False),
    ]
    hourly = spread_hourly(intervals, series=["meter"])
    assert hourly.select("energy", "covered_s", "resets").row(0) == (43.0, 1800.0, 1)


def test_wrap_uses_the_modulus_and_a_constant_or_per_row_wrap_point() -> None:
    readings = frame([(0, 999_950.0), (15, 999_990.0), (30, 30.0), (45, 70.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh", wrap_at=1_000_000.0)
    assert intervals.select("method", "energy").rows() == [("delta", 40.0), ("wrap", 40.0), ("delta", 40.0)]
    per_row = readings.with_columns(modulus=pl.lit(1_000_000.0))
    same = register_intervals(per_row, series=["meter"], register="energy_kwh", wrap_at="modulus")
    assert same.equals(intervals)
    assert spread_hourly(intervals, series=["meter"])["resets"].to_list() == [1]


def test_implausible_wrap_is_treated_as_a_reset() -> None:
    # 999,950 -> 30 as a wrap would be 80 kWh in 15 min = 320 kW, above a 110 kW cap: a reset, not a wrap.
    readings = frame([(0, 999_900.0), (15, 999_950.0), (30, 1.0)])
    intervals = register_intervals(
        readings, series=["meter"], register="energy_kwh", wrap_at=1_000_000.0, max_power_w=110_000.0
    )
    assert intervals.select("method", "energy", "lower_bound").rows()[-1] == ("reset", 1.0, True)


def test_implausible_delta_is_rejected_and_not_covered() -> None:
    # 100 kWh in 15 min = 400 kW, above the 220 kW cap (a 200 kW meter + 10 %): a glitch, not energy.
    readings = frame([(0, 1000.0), (15, 1010.0), (30, 1110.0), (45, 1120.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh", max_power_w=220_000.0)
    assert intervals.select("method", "energy").rows() == [("delta", 10.0), ("rejected", None), ("delta", 10.0)]
    hourly = spread_hourly(intervals, series=["meter"])
    assert hourly.select("energy", "covered_s").row(0) == (20.0, 1800.0)


def test_single_glitch_readings_are_bridged() -> None:
    readings = frame([(0, 100.0), (15, 9999.0), (30, 102.0), (45, 0.0), (60, 104.0), (75, 104.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh")
    assert intervals.select("start", "end", "energy", "method", "skipped").rows() == [
        (at(0), at(30), 2.0, "delta", 1),
        (at(30), at(60), 2.0, "delta", 1),
        (at(60), at(75), 0.0, "delta", 0),
    ]


def test_gap_energy_is_exact_but_interpolated_and_uncovered() -> None:
    readings = frame([(0, 0.0), (15, 20.0), (90, 120.0), (105, 140.0)])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh", max_gap_s=1800)
    assert intervals["gap"].to_list() == [False, True, False]
    hourly = spread_hourly(intervals, series=["meter"])
    # The 100 kWh of 12:15-13:30 spread 45/75 and 30/75: 20 + 60 and 40 + 20.
    assert hourly.select("hour", "energy", "covered_s", "interpolated").rows() == [
        (at(0), pytest.approx(80.0), 900.0, True),
        (at(60), pytest.approx(60.0), 900.0, True),
    ]


def test_series_are_independent_and_power_cap_needs_a_unit() -> None:
    readings = pl.concat([frame([(0, 1.0), (60, 2.0)], meter="a"), frame([(0, 5.0), (60, 9.0)], meter="b")])
    intervals = register_intervals(readings, series=["meter"], register="energy_kwh", max_power_w=1e9)
    assert intervals.select("meter", "energy").rows() == [("a", 1.0), ("b", 4.0)]
    joules = readings.rename({"energy_kwh": "energy_counter_j"})
    capped = register_intervals(joules, series=["meter"], register="energy_counter_j", max_power_w=0.001)
    # a: 1 J in an hour = 0.00028 W, under the 0.001 W cap; b: 4 J = 0.0011 W, over it.
    assert capped["method"].to_list() == ["delta", "rejected"]
    with pytest.raises(ValueError, match="cannot tell the unit"):
        register_intervals(readings.rename({"energy_kwh": "reg"}), series=["meter"], register="reg", max_power_w=1.0)
    explicit = register_intervals(
        readings.rename({"energy_kwh": "reg"}), series=["meter"], register="reg", max_power_w=1e9, register_j=3.6e6
    )
    assert explicit["energy"].to_list() == [1.0, 4.0]


def test_power_is_integrated_by_trapezoid_and_long_gaps_stay_empty() -> None:
    readings = pl.DataFrame(
        {
            "meter": ["p"] * 5,
            "ts": [at(0), at(30), at(60), at(150), at(160)],
            "power_w": [1000.0, 2000.0, 2000.0, 4000.0, 4000.0],
        }
    )
    intervals = power_intervals(readings, series=["meter"], power="power_w", max_gap_s=3600)
    assert intervals.select("energy", "method", "gap").rows() == [
        (1500.0 * 1800, "trapezoid", False),
        (2000.0 * 1800, "trapezoid", False),
        (None, "gap", True),
        (4000.0 * 600, "trapezoid", False),
    ]
    hourly = spread_hourly(intervals, series=["meter"])
    assert hourly.select("hour", "energy", "covered_s", "interpolated").rows() == [
        (at(0), 1500.0 * 1800 + 2000.0 * 1800, 3600.0, False),
        (at(60), None, 0.0, False),
        (at(120), 4000.0 * 600, 600.0, False),
    ]


def test_naive_timestamps_stay_naive_and_empty_input_gives_empty_hours() -> None:
    readings = frame([(0, 1.0), (30, 2.0)]).with_columns(pl.col("ts").dt.replace_time_zone(None))
    hourly = spread_hourly(register_intervals(readings, series=["meter"], register="energy_kwh"), series=["meter"])
    assert hourly["hour"].dtype == pl.Datetime("us")
    empty = register_intervals(readings.head(0), series=["meter"], register="energy_kwh")
    assert empty.is_empty()
    assert spread_hourly(empty, series=["meter"]).columns == [
        "meter",
        "hour",
        "energy",
        "covered_s",
        "interpolated",
        "resets",
    ]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_polars_rules_equal_a_plain_python_reference(seed: int) -> None:
    """Randomised meters with duplicates, resets, wraps, glitches and gaps: both implementations agree."""
    rng = random.Random(seed)
    readings = synthetic_readings(meters=6, hours=5, step_s=300, rng=rng, event_scale=10.0)
    intervals = register_intervals(
        readings,
        series=["site", "meter_id"],
        register="energy_kwh",
        reset_at="register_reset_at",
        wrap_at=1_000_000.0,
        max_power_w=500_000.0,
        max_gap_s=900,
    )
    ours = spread_hourly(intervals, series=["site", "meter_id"]).sort("site", "meter_id", "hour")
    ref = reference_hourly(readings, wrap_at=1_000_000.0, max_power_w=500_000.0, max_gap_s=900)
    assert ours.select("site", "meter_id", "hour").rows() == ref.select("site", "meter_id", "hour").rows()
    for column in ("energy", "covered_s"):
        for a, b in zip(ours[column].to_list(), ref[column].to_list(), strict=True):
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-9, abs=1e-6)
    assert ours["resets"].to_list() == ref["resets"].to_list()
    assert ours["interpolated"].to_list() == ref["interpolated"].to_list()
    # The random series really exercised every rule.
    assert {"delta", "reset", "wrap"} <= set(intervals["method"])
    assert intervals["gap"].any()
    assert intervals["lower_bound"].any()
    assert intervals["reset_time"].is_not_null().any()
    assert intervals["skipped"].sum() > 0

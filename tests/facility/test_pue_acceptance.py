"""Acceptance: hand-computed PUE from meter CSVs with a counter reset, a wrap, a gap and a duplicate.

One site, three UTC hours (00-03), readings every 15 min in a BMS export (local time +09:00) that goes
through the real inbox, landing zone and PUE library. The meters:

* ``util`` (facility total, kWh, wraps at 999,999.9): 50 kWh per 15 min in hour 0, 55 in hour 1 (the
  register wraps from 999,955 to 10 at 01:30), 60 in hour 2; the 00:30 reading is delivered twice.
  E_DC = 200, 220, 240 kWh.
* ``it-a`` (IT input, kWh): 20 kWh per 15 min; reset at 01:24 (the export gives the reset time), so 01:30
  reads 8 kWh = energy since the reset and 01:15-01:24 is unmeasured (540 s). 80, 20 + 8 + 20 + 20 = 68, 80.
* ``it-b`` (IT input, Wh): 17.5 kWh per 15 min in hour 0, 20 after; no readings from 01:30 to 02:15, so
  01:15 -> 02:30 is one 100 kWh delta across a gap, spread 60 / 40 by time. 70, 80, 80 kWh; measured
  900 s of hour 1 and 1800 s of hour 2.
* ``chiller`` (cooling, power in kW): 30 kW flat, integrated: 30 kWh per hour.

PUE: 200 / (80 + 70) = 1.3333, 220 / (68 + 80) = 1.4865, 240 / (80 + 80) = 1.5.
Coverage = min over both sides: 1, min(0.85, 0.25) = 0.25, min(1, 0.5) = 0.5.
Day: 660 / 458 = 1.44105 from sums (the mean of the hourly ratios would be 1.4399).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from collectors.facility.ingest import ingest_meter_inbox
from collectors.facility.registry import load_meters
from collectors.landing import LandingZone
from collectors.layout import DataRoot
from pipelines.lib.pue import meter_energy_hourly, pue_hourly, pue_rollup
from pipelines.tables.facility import METER_ENERGY_HOURLY, PUE_DAILY, PUE_HOURLY

METERS = """\
version: 1
meters:
  - {id: util, site: tyo1, role: facility_total, quantity: energy_register, unit: kWh,
     rating_kw: 2500, register_max: 999999.9}
  - {id: it-a, site: tyo1, role: it_input, quantity: energy_register, unit: kWh, rating_kw: 400}
  - {id: it-b, site: tyo1, role: it_input, quantity: energy_register, unit: Wh}
  - {id: chiller, site: tyo1, role: cooling, quantity: power, unit: kW}
"""

UTIL = [999700, 999750, 999800, 999850, 999900, 999955, 10, 65, 120, 180, 240, 300, 360]
IT_A = [5000, 5020, 5040, 5060, 5080, 5100, 8, 28, 48, 68, 88, 108, 128]
IT_B = [800, 817.5, 835, 852.5, 870, 890, None, None, None, None, 990, 1010, 1030]
H = [dt.datetime(2026, 11, 20, h) for h in range(3)]


def _local(step: int) -> str:
    hours, minutes = divmod(15 * step, 60)
    return f"2026-11-20T{9 + hours:02d}:{minutes:02d}:00+09:00"


def _export() -> str:
    lines = ["timestamp,meter_id,value,reset_at"]
    for i in range(13):
        ts = _local(i)
        lines.append(f"{ts},util,{UTIL[i]},")
        if i == 2:
            lines.append(f"{ts},util,{UTIL[i]},")  # the duplicate
        lines.append(f"{ts},it-a,{IT_A[i]},{'2026-11-20T10:24:00+09:00' if i >= 6 else ''}")
        if IT_B[i] is not None:
            lines.append(f"{ts},it-b,{IT_B[i] * 1000:g},")
        lines.append(f"{ts},chiller,30,")
    return "\n".join(lines) + "\n"


@pytest.fixture
def landed(tmp_path: Path) -> tuple[DataRoot, pl.DataFrame]:
    root = DataRoot.at(tmp_path)
    root.config.mkdir(parents=True)
    root.meters_file.write_text(METERS)
    inbox = root.inbox("meter_csv") / "tyo1"
    inbox.mkdir(parents=True)
    # Two hourly exports as the BMS would drop them: the 03:00 reading is the one just after hour 2.
    text = _export().splitlines()
    header, rows = text[0], text[1:]
    (inbox / "tyo1-00.csv").write_text("\n".join([header, *rows[:24]]) + "\n")
    (inbox / "tyo1-01.csv").write_text("\n".join([header, *rows[24:]]) + "\n")
    report = ingest_meter_inbox(root, load_meters(root.meters_file))
    assert report.problems == []
    assert report.records == 49
    readings = LandingZone(root).read_range(
        "facility", dt.datetime(2026, 11, 20, 0, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, 4, tzinfo=dt.UTC)
    )
    return root, readings


def test_meter_energy_per_hour(landed: tuple[DataRoot, pl.DataFrame]) -> None:
    root, readings = landed
    hourly = meter_energy_hourly(readings, load_meters(root.meters_file), start=H[0], end=H[2] + dt.timedelta(hours=1))
    assert hourly.columns == list(METER_ENERGY_HOURLY.column_names)
    got = {
        (r["meter_id"], r["hour"].hour): (r["energy_kwh"], r["covered_s"], r["resets"], r["interpolated"])
        for r in hourly.iter_rows(named=True)
    }
    expected = {
        ("util", 0): (200.0, 3600.0, 0, False),
        ("util", 1): (220.0, 3600.0, 1, False),  # the wrap
        ("util", 2): (240.0, 3600.0, 0, False),
        ("it-a", 0): (80.0, 3600.0, 0, False),
        ("it-a", 1): (68.0, 3060.0, 1, False),  # the reset at 01:24
        ("it-a", 2): (80.0, 3600.0, 0, False),
        ("it-b", 0): (70.0, 3600.0, 0, False),
        ("it-b", 1): (80.0, 900.0, 0, True),  # the gap
        ("it-b", 2): (80.0, 1800.0, 0, True),
        ("chiller", 0): (30.0, 3600.0, 0, False),
        ("chiller", 1): (30.0, 3600.0, 0, False),
        ("chiller", 2): (30.0, 3600.0, 0, False),
    }
    assert set(got) == set(expected)
    for key, (energy, covered, resets, interpolated) in expected.items():
        assert got[key][0] == pytest.approx(energy), key
        assert got[key][1:] == (covered, resets, interpolated), key
    roles = dict(hourly.select("meter_id", "role").unique().iter_rows())
    assert roles == {"util": "facility_total", "it-a": "it_input", "it-b": "it_input", "chiller": "cooling"}


def test_pue_per_hour_and_day_from_summed_energy(landed: tuple[DataRoot, pl.DataFrame]) -> None:
    root, readings = landed
    meters = meter_energy_hourly(readings, load_meters(root.meters_file), start=H[0], end=H[2] + dt.timedelta(hours=1))
    gpu = pl.DataFrame({"site": ["tyo1"] * 3, "hour": H, "gpu_kwh": [100.0, 100.0, 100.0]})
    hourly = pue_hourly(meters, gpu)
    assert hourly.columns == list(PUE_HOURLY.column_names)
    assert hourly["hour"].to_list() == H
    assert hourly["facility_kwh"].to_list() == pytest.approx([200.0, 220.0, 240.0])
    assert hourly["it_kwh"].to_list() == pytest.approx([150.0, 148.0, 160.0])
    assert hourly["pue"].to_list() == pytest.approx([200 / 150, 220 / 148, 1.5])
    assert hourly["category"].to_list() == [3, 3, 3]
    assert hourly["coverage_ratio"].to_list() == pytest.approx([1.0, 0.25, 0.5])
    assert hourly["low_coverage"].to_list() == [False, True, True]
    assert hourly["gpu_kwh"].to_list() == [100.0, 100.0, 100.0]
    assert hourly["other_it_kwh"].to_list() == pytest.approx([50.0, 48.0, 60.0])
    assert hourly["cooling_kwh"].to_list() == pytest.approx([30.0, 30.0, 30.0])
    assert hourly["cooling_ppue"].to_list() == pytest.approx([180 / 150, 178 / 148, 190 / 160])
    assert hourly["checks_failed"].to_list() == [None, None, None]

    daily = pue_rollup(hourly, "day")
    assert daily.columns == list(PUE_DAILY.column_names)
    day = daily.row(0, named=True)
    assert day["day"] == dt.date(2026, 11, 20)
    assert (day["facility_kwh"], day["it_kwh"]) == (pytest.approx(660.0), pytest.approx(458.0))
    assert day["pue"] == pytest.approx(660 / 458)
    assert day["pue"] != pytest.approx(sum(hourly["pue"].to_list()) / 3, abs=1e-4)  # not a mean of ratios
    assert day["coverage_ratio"] == pytest.approx((1.0 + 0.25 + 0.5) / 24)
    assert day["low_coverage"] is True
    assert (day["category"], day["hours_used"]) == (3, 3)


def test_recomputing_gives_the_same_rows(landed: tuple[DataRoot, pl.DataFrame]) -> None:
    root, readings = landed
    registry = load_meters(root.meters_file)
    first = meter_energy_hourly(readings, registry)
    again = meter_energy_hourly(readings.sample(fraction=1.0, shuffle=True, seed=3), registry)
    assert first.equals(again)

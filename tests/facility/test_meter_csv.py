"""Meter CSV import: long and wide layouts, units from the registry, problems with line numbers, the inbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from collectors.errors import ConfigError, InputError
from collectors.facility.ingest import ingest_meter_inbox
from collectors.facility.meter_csv import read_meter_csv
from collectors.facility.registry import Meter, MeterRegistry, registry_from_meters
from collectors.inbox import quarantined
from collectors.landing import LandingZone
from collectors.layout import DataRoot
from collectors.schemas import FACILITY_READING

UTC = dt.UTC


@pytest.fixture
def registry() -> MeterRegistry:
    return registry_from_meters(
        [
            Meter(id="tyo1-utility-kwh", site="tyo1", role="facility_total", quantity="energy_register", unit="kWh"),
            Meter(id="tyo1-ups-a-wh", site="tyo1", role="ups_output", quantity="energy_register", unit="Wh"),
            Meter(id="tyo1-crah-kw", site="tyo1", role="cooling", quantity="power", unit="kW"),
            Meter(id="osa1-utility", site="osa1", role="facility_total", quantity="energy_register", unit="kWh"),
        ]
    )


def _csv(tmp_path: Path, text: str, name: str = "meters.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_long_layout_converts_units_and_offsets_to_utc(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(
        tmp_path,
        "timestamp,meter_id,value\n"
        "2026-11-20T13:00:00+09:00,tyo1-utility-kwh,1523004.117\n"
        "2026-11-20T13:00:00+09:00,tyo1-ups-a-wh,88410200\n"
        "2026-11-20T04:00:00Z,tyo1-crah-kw,41.5\n",
    )
    result = read_meter_csv(path, registry, site="tyo1")
    assert result.problems == []
    rows = result.records
    assert rows.columns == list(FACILITY_READING.columns)
    assert rows["ts"].to_list() == [
        dt.datetime(2026, 11, 20, 4, tzinfo=UTC),
        dt.datetime(2026, 11, 20, 4, tzinfo=UTC),
        dt.datetime(2026, 11, 20, 4, tzinfo=UTC),
    ]
    assert rows["energy_kwh"].to_list() == [1523004.117, pytest.approx(88410.2), None]
    assert rows["power_w"].to_list() == [None, None, 41500.0]
    assert set(rows["site"]) == {"tyo1"}
    assert set(rows["source"]) == {"meter_csv"}
    assert set(rows["source_file"]) == {"meters.csv"}


def test_wide_layout_with_semicolons_decimal_commas_and_empty_cells(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(
        tmp_path,
        "\ufeffTimestamp;tyo1-utility-kwh;tyo1-crah-kw\n"
        "2026-11-20 13:00:00+09:00;1.523.004,117;41,5\n"
        "2026-11-20 13:15:00+09:00;1.523.054,5;\n",
    )
    result = read_meter_csv(path, registry)
    assert result.problems == []
    rows = result.records.sort("ts", "meter_id")
    assert rows.select("meter_id", "energy_kwh", "power_w").rows() == [
        ("tyo1-crah-kw", None, 41500.0),
        ("tyo1-utility-kwh", 1523004.117, None),
        ("tyo1-utility-kwh", 1523054.5, None),
    ]
    assert rows["ts"][-1] == dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_kept(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(
        tmp_path,
        "timestamp,meter_id,value,unit\n"  # line 1
        "2026-11-20T13:00:00+09:00,tyo1-utility-kwh,1523004.117,\n"  # 2 good
        "yesterday noon,tyo1-utility-kwh,1,\n"  # 3 bad timestamp
        "2026-11-20T13:15:00+09:00,tyo1-utility-kwh,n/a,\n"  # 4 bad number
        "\n"  # 5 blank, skipped
        "2026-11-20T13:15:00+09:00,tyo1-mystery,12,\n"  # 6 unknown meter
        "2026-11-20T13:30:00+09:00,tyo1-mystery,13,\n"  # 7 unknown meter again (folded)
        "2026-11-20T13:15:00+09:00,osa1-utility,5,\n"  # 8 other site's meter
        "2026-11-20T13:15:00+09:00,tyo1-ups-a-wh,-1,\n"  # 9 negative register (APC 'unsupported')
        "2026-11-20T13:15:00+09:00,tyo1-crah-kw,40,kWh\n"  # 10 energy unit on a power meter
        "2026-11-20T13:15:00+09:00,tyo1-crah-kw,40500,W\n"  # 11 good, unit column overrides kW
        '"2026-11-20T13:30:00+09:00","tyo1-utility-kwh","1523104.1",,extra\n',  # 12 too many fields
    )
    result = read_meter_csv(path, registry, site="tyo1")
    assert result.records.select("meter_id", "energy_kwh", "power_w").rows() == [
        ("tyo1-utility-kwh", 1523004.117, None),
        ("tyo1-crah-kw", None, 40500.0),
    ]
    found = {(p.line, p.field): p.reason for p in result.problems}
    assert set(found) == {(3, "timestamp"), (4, "value"), (6, None), (8, None), (9, "value"), (10, "unit"), (12, None)}
    assert "not an ISO 8601 timestamp" in found[(3, "timestamp")]
    assert found[(4, "value")] == "not a number: 'n/a'"
    assert found[(6, None)] == "meter 'tyo1-mystery' is not in the registry (2 rows kept out)"
    assert "belongs to site 'osa1'" in found[(8, None)]
    assert "negative register reading" in found[(9, "value")]
    assert "not a power unit" in found[(10, "unit")]
    assert "5 fields but the header has 4" in found[(12, None)]
    assert all(str(p).startswith("meters.csv:line ") for p in result.problems)


def test_naive_timestamps_use_the_site_zone_and_are_flagged(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(
        tmp_path,
        "timestamp,meter_id,value\n2026-11-20T13:00:00,tyo1-utility-kwh,10\n2026-11-20T13:15:00,tyo1-utility-kwh,11\n",
    )
    result = read_meter_csv(path, registry, timezone="Asia/Tokyo")
    assert result.records["ts"].to_list() == [
        dt.datetime(2026, 11, 20, 4, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC),
    ]
    assert len(result.problems) == 1
    flag = result.problems[0]
    assert (flag.line, flag.field) == (2, "timestamp")
    assert "2 timestamp(s) without a UTC offset read as Asia/Tokyo local time" in flag.reason


def test_daylight_saving_gaps_and_overlaps_are_refused_per_row(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(
        tmp_path,
        "timestamp,meter_id,value\n"
        "2026-03-29T02:30:00,tyo1-utility-kwh,10\n"  # does not exist in Europe/Berlin
        "2026-10-25T02:30:00,tyo1-utility-kwh,11\n"  # happens twice
        "2026-10-25T04:30:00,tyo1-utility-kwh,12\n",
    )
    result = read_meter_csv(path, registry, timezone="Europe/Berlin")
    assert result.records["ts"].to_list() == [dt.datetime(2026, 10, 25, 3, 30, tzinfo=UTC)]
    reasons = {p.line: p.reason for p in result.problems}
    assert "does not exist in Europe/Berlin" in reasons[2]
    assert "is ambiguous in Europe/Berlin" in reasons[3]


def test_reset_time_column_lands_as_register_reset_at(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(
        tmp_path,
        "timestamp,meter_id,value,reset_at\n2026-11-20T13:30:00+09:00,tyo1-utility-kwh,8,2026-11-20T13:24:00+09:00\n",
    )
    rows = read_meter_csv(path, registry).records
    assert rows["register_reset_at"].to_list() == [dt.datetime(2026, 11, 20, 4, 24, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"when,what\n1,2\n", "no timestamp column"),
        (b"timestamp\n2026-11-20T13:00:00Z\n", "no meter columns"),
        (b"timestamp,meter_id,value\n\xff\xfe,1,2\n", "not UTF-8"),
        (b"timestamp,meter_id,value\nnoon,tyo1-utility-kwh,1\nlater,tyo1-utility-kwh,2\n", "no usable row in 2"),
    ],
)
def test_unreadable_files_raise(tmp_path: Path, registry: MeterRegistry, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_meter_csv(path, registry)


def test_unknown_time_zone_is_a_config_error(tmp_path: Path, registry: MeterRegistry) -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        read_meter_csv(_csv(tmp_path, "timestamp,meter_id,value\n"), registry, timezone="Mars/Olympus")


def test_header_only_file_gives_no_rows_and_no_problems(tmp_path: Path, registry: MeterRegistry) -> None:
    result = read_meter_csv(_csv(tmp_path, "timestamp,meter_id,value\n"), registry)
    assert result.records.is_empty()
    assert result.problems == []


def test_inbox_sweep_lands_once_archives_and_quarantines(tmp_path: Path, registry: MeterRegistry) -> None:
    root = DataRoot.at(tmp_path)
    site_dir = root.inbox("meter_csv") / "tyo1"
    site_dir.mkdir(parents=True)
    good = "timestamp,meter_id,value\n2026-11-20T13:00:00,tyo1-utility-kwh,10\n2026-11-20T13:15:00,ghost,1\n"
    (site_dir / "tyo1-2026112013.csv").write_text(good)
    (site_dir / "garbage.csv").write_bytes(b"\x00\x01binary")
    report = ingest_meter_inbox(root, registry, timezones={"tyo1": "Asia/Tokyo"})
    assert report.files_ok == ["tyo1-2026112013.csv"]
    assert list(report.quarantined) == ["garbage.csv"]
    assert report.touched_hours == [dt.datetime(2026, 11, 20, 4, tzinfo=UTC)]
    assert any("meter 'ghost' is not in the registry" in p for p in report.problems)
    assert [q["file"] for q in quarantined(root, "meter_csv")] == ["garbage.csv"]
    assert not list(site_dir.iterdir())
    # The BMS delivers the same export again: it is read, but lands under the same content-hash name.
    (site_dir / "tyo1-2026112013.csv").write_text(good)
    again = ingest_meter_inbox(root, registry, timezones={"tyo1": "Asia/Tokyo"})
    assert again.files_ok == ["tyo1-2026112013.csv"]
    landed = LandingZone(root).read_hour("facility", dt.datetime(2026, 11, 20, 4, tzinfo=UTC))
    assert landed.select("meter_id", "energy_kwh").rows() == [("tyo1-utility-kwh", 10.0)]
    assert len(list((root.landing / "facility").rglob("*.parquet"))) == 1


def test_records_are_a_polars_frame_in_the_landing_shape(tmp_path: Path, registry: MeterRegistry) -> None:
    path = _csv(tmp_path, "timestamp,meter_id,value\n2026-11-20T13:00:00Z,tyo1-crah-kw,1\n")
    rows = read_meter_csv(path, registry, producer="bms-export@tyo1").records
    assert rows.schema == FACILITY_READING.polars_schema
    assert rows["producer"].to_list() == ["bms-export@tyo1"]
    assert isinstance(rows, pl.DataFrame)

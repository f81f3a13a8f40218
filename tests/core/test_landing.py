"""The landing zone: hourly split, atomic idempotent writes, schema conformance, inbox handling."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from collectors.errors import InputError
from collectors.inbox import Inbox, InboxFile, ingest
from collectors.landing import LandingZone
from collectors.schemas import GPU_SAMPLE

T0 = dt.datetime(2026, 11, 20, 13, 59, 30, tzinfo=dt.UTC)


def _gpu_rows(n: int, start: dt.datetime = T0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [start + dt.timedelta(seconds=30 * i) for i in range(n)],
            "interval_s": [30.0] * n,
            "site": ["tyo1"] * n,
            "node": ["node-01"] * n,
            "gpu_uuid": ["GPU-a"] * n,
            "power_w": [100.0 + i for i in range(n)],
            "source": ["nvml"] * n,
            "producer": ["agent@node-01"] * n,
        }
    )


def test_batch_is_split_by_utc_hour_and_reads_back(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    files = zone.write_batch("gpu", "agent@node-01", _gpu_rows(4))
    assert [f.parent.name for f in files] == ["hour=13", "hour=14"]
    assert files[0].parent.parent.name == "date=2026-11-20"
    assert files[0].name == "agent_node-01-20261120T135930Z-0000.parquet"
    hour13 = zone.read_hour("gpu", T0)
    hour14 = zone.read_hour("gpu", T0 + dt.timedelta(minutes=1))
    assert hour13.height == 1
    assert hour14.height == 3
    assert hour14.columns == list(GPU_SAMPLE.columns)
    assert hour14.get_column("power_w").to_list() == [101.0, 102.0, 103.0]
    assert hour14.get_column("util_ratio").null_count() == 3


def test_relanding_identical_rows_is_a_no_op_and_changed_rows_get_a_new_file(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    first = zone.write_batch("gpu", "p", _gpu_rows(2))
    again = zone.write_batch("gpu", "p", _gpu_rows(2))
    assert first == again
    changed = _gpu_rows(2).with_columns(pl.col("power_w") + 1)
    third = zone.write_batch("gpu", "p", changed)
    assert third[0].name.endswith("-0001.parquet")
    assert not list(tmp_path.rglob(".*tmp-*"))


def test_missing_required_column_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="required columns missing: gpu_uuid"):
        LandingZone(tmp_path).write_batch("gpu", "p", _gpu_rows(1).drop("gpu_uuid"))
    bad = _gpu_rows(1).with_columns(pl.lit("hot").alias("power_w"))
    with pytest.raises(InputError) as info:
        LandingZone(tmp_path).write_batch("gpu", "p", bad)
    assert info.value.field == "power_w"
    assert not (tmp_path / "landing").exists()


class _Parsed:
    def __init__(self, records: pl.DataFrame) -> None:
        self.records = records
        self.problems: list[InputError] = []


def test_ingest_lands_good_files_once_and_quarantines_bad_ones(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path, "meter_csv")
    (inbox.directory / "tyo1").mkdir(parents=True)
    (inbox.directory / "tyo1" / "good.csv").write_text("ok")
    (inbox.directory / "tyo1" / "bad.csv").write_text("broken")

    def parse(item: InboxFile) -> _Parsed:
        if item.path.read_text() == "broken":
            raise InputError("no header row", line=1)
        return _Parsed(
            pl.DataFrame(
                {
                    "ts": [T0],
                    "site": [item.site],
                    "meter_id": ["m1"],
                    "energy_kwh": [10.0],
                    "source": ["meter_csv"],
                    "producer": ["inbox"],
                }
            )
        )

    report = ingest(inbox, "facility", parse)
    assert report.files_ok == ["good.csv"]
    assert report.quarantined == {"bad.csv": "bad.csv:line 1: no header row"}
    assert report.touched_hours == [dt.datetime(2026, 11, 20, 13, tzinfo=dt.UTC)]
    reason = json.loads((tmp_path / "quarantine/meter_csv/tyo1/bad.csv.reason.json").read_text())
    assert reason["reason"] == "no header row"
    assert reason["line"] == 1
    assert reason["site"] == "tyo1"
    assert list((tmp_path / "archive/meter_csv").rglob("good.csv"))
    assert inbox.pending() == []
    landed = LandingZone(tmp_path).read_hour("facility", T0)
    assert landed.get_column("site").to_list() == ["tyo1"]

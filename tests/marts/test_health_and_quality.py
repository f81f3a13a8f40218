"""Health events derived from samples (against the previous hour too), reported events normalised, and the
data-quality counts: expected vs reporting, late files by their write time, quarantined files by hour."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl

from collectors.layout import DataRoot
from collectors.schemas import GPU_HEALTH
from pipelines.lib.frames import conform_to_table
from pipelines.lib.health import DERIVED_EVENTS_SQL, reported_events
from pipelines.lib.quality import (
    configured_meters,
    data_quality_hour,
    landed_files,
    quarantined_file_rows,
    quarantined_files,
)
from pipelines.lib.warehouse import Warehouse
from tests.marts.scenario import gpu_rows

H9, H10 = dt.datetime(2026, 11, 20, 9), dt.datetime(2026, 11, 20, 10)
HOUR = dt.timedelta(hours=1)


def _samples(wh: Warehouse, hour: dt.datetime, rows: list[dict[str, object]]) -> None:
    frame = conform_to_table(
        "gpu_sample",
        pl.DataFrame([{"site": "s", "node": "n", "gpu_uuid": "G", "interval_s": 10.0, **r} for r in rows]),
    )
    wh.replace_partition("gpu_sample", frame, hour, hour + HOUR)


def test_derived_events_compare_with_the_previous_sample_even_across_the_hour(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    last_of_9 = H10 - dt.timedelta(seconds=10)
    _samples(wh, H9, [{"ts": last_of_9, "ecc_uncorrected_total": 1, "remap_pending": False, "remap_failed": False}])
    _samples(
        wh,
        H10,
        [
            # First sample of 10:00: ECC went 1 → 3 against 09:59:50, and a row remapping became pending.
            {"ts": H10, "ecc_uncorrected_total": 3, "remap_pending": True, "remap_failed": False},
            {"ts": H10 + dt.timedelta(seconds=10), "ecc_uncorrected_total": 3, "remap_pending": True},
            # 110 s of silence, then back with a failed remapping.
            {
                "ts": H10 + dt.timedelta(seconds=120),
                "ecc_uncorrected_total": 3,
                "remap_pending": True,
                "remap_failed": True,
            },
        ],
    )
    got = (
        wh.query(DERIVED_EVENTS_SQL, [H10, H10 + HOUR, H10 - HOUR, H10, H10])
        .select("ts", "event", "code", "severity")
        .rows()
    )
    assert got == [
        (H10, "ecc_uncorrected", 2, "critical"),
        (H10, "remap_pending", None, "warning"),
        (H10 + dt.timedelta(seconds=120), "remap_failed", None, "critical"),
        (H10 + dt.timedelta(seconds=120), "telemetry_gap", 110, "warning"),
    ]


def test_reported_events_are_deduplicated_and_severities_normalised() -> None:
    row = {
        "ts": dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC),
        "site": "s",
        "node": "n",
        "gpu_uuid": "G",
        "event": "xid",
        "code": 79,
        "severity": "CRITICAL",
        "message": "GPU has fallen off the bus",
        "source": "dcgm",
        "producer": "b",
    }
    landed = pl.from_dicts(
        [row, {**row, "producer": "a"}, {**row, "code": 13, "severity": "odd"}], schema=GPU_HEALTH.polars_schema
    )
    got = reported_events(landed).select("code", "severity", "producer", "origin").rows()
    assert got == [(13, "warning", "b", "reported"), (79, "critical", "a", "reported")]


def test_late_files_count_by_their_write_time_and_quarantined_files_by_hour(tmp_path: Path) -> None:
    from collectors.landing import LandingZone

    root = DataRoot.at(tmp_path)
    landing = LandingZone(root)
    hour = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    frame = gpu_rows().filter(pl.col("ts") < hour + HOUR)
    for i, node in enumerate(("n1", "n2")):
        (path,) = landing.write_batch("gpu", f"agent@{node}", frame.filter(pl.col("node") == node))
        stamp = (hour + HOUR + dt.timedelta(minutes=10 + 30 * i)).timestamp()
        os.utime(path, (stamp, stamp))
    got = landed_files(landing, "gpu", hour, dt.timedelta(minutes=20)).rows()
    assert got == [("tst1", 2, 1, 2400.0)]
    target = root.quarantine("ran_pm") / "tst1" / "bad.xml"
    target.parent.mkdir(parents=True)
    target.write_text("<x")
    for at, name in (("2026-11-20T10:59:59+00:00", "bad.xml"), ("2026-11-20T11:00:00+00:00", "bad2.xml")):
        reason = {"reason": "not XML", "site": "tst1", "quarantined_at": at}
        (target.parent / f"{name}.reason.json").write_text(json.dumps(reason))
    held = quarantined_file_rows(root, hour)
    assert held.select("site", "source", "kind", "file", "reason", "quarantined_at", "quarantined_as").rows() == [
        (
            "tst1",
            "ran_pm",
            "ran_pm",
            None,
            "not XML",
            dt.datetime(2026, 11, 20, 10, 59, 59),
            "quarantine/ran_pm/tst1/bad.xml",
        )
    ]
    assert quarantined_files(held, "ran_pm").rows() == [("tst1", 1)]
    assert quarantined_files(held, "facility").rows() == []


def test_quarantined_files_are_listed_by_arrival_hour_with_their_reasons(tmp_path: Path) -> None:
    """The arrival hour wins over the sweep's; a site-less file is 'unknown'; a damaged reason file is listed."""
    from collectors.errors import InputError
    from collectors.inbox import Inbox

    root = DataRoot.at(tmp_path)
    inbox = Inbox(root, "ran_pm")
    drop = inbox.directory / "tyo1" / "A20261120.0945+0900-1000+0900_gnb-1.xml"
    drop.parent.mkdir(parents=True)
    drop.write_text("<measCollecFile")
    arrived = dt.datetime(2026, 11, 20, 0, 59, 30, tzinfo=dt.UTC)
    os.utime(drop, (arrived.timestamp(), arrived.timestamp()))
    (item,) = inbox.pending(min_age_s=0)
    inbox.quarantine(item, InputError("file is truncated", file=str(drop), line=1, field="measCollecFile"))
    meters = root.quarantine("meter_csv") / "export.csv"
    meters.parent.mkdir(parents=True)
    meters.write_text("x")
    (meters.parent / "export.csv.reason.json").write_text("{not json")

    hour0 = quarantined_file_rows(root, dt.datetime(2026, 11, 20, 0, tzinfo=dt.UTC))
    assert hour0.select("hour", "site", "source", "kind", "file", "line", "field", "reason", "arrived_at").rows() == [
        (
            dt.datetime(2026, 11, 20, 0),
            "tyo1",
            "ran_pm",
            "ran_pm",
            "A20261120.0945+0900-1000+0900_gnb-1.xml",
            1,
            "measCollecFile",
            "file is truncated",
            dt.datetime(2026, 11, 20, 0, 59, 30),
        )
    ]
    assert hour0.item(0, "quarantined_as") == "quarantine/ran_pm/tyo1/A20261120.0945+0900-1000+0900_gnb-1.xml"
    assert quarantined_file_rows(root, dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC)).height == 0
    # The damaged reason file has no time: it is still reported by the inbox check, but belongs to no hour.
    from collectors.inbox import quarantined

    (damaged,) = quarantined(root, "meter_csv")
    assert str(damaged["reason"]).startswith("its reason file cannot be read: ")
    assert damaged["quarantined_as"] == "quarantine/meter_csv/export.csv"


def test_expected_gpus_include_those_seen_in_the_previous_day(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    wh = Warehouse(root.warehouse_db)
    rows = [
        {"hour": H10 - dt.timedelta(hours=20), "site": "s", "gpu_uuid": "A", "samples": 360, "sample_s": 3600.0},
        {"hour": H10 - dt.timedelta(hours=3), "site": "s", "gpu_uuid": "B", "samples": 360, "sample_s": 3600.0},
        {"hour": H10 - dt.timedelta(hours=30), "site": "s", "gpu_uuid": "C", "samples": 360, "sample_s": 3600.0},
        {"hour": H10, "site": "s", "gpu_uuid": "A", "samples": 180, "sample_s": 1800.0},
    ]
    for r in rows:
        h = r["hour"]
        assert isinstance(h, dt.datetime)
        wh.replace_partition("gpu_hourly", conform_to_table("gpu_hourly", pl.DataFrame([r])), h, h + HOUR)
    root.config.mkdir(parents=True)
    root.meters_file.write_text(
        "version: 1\nmeters: [{id: m1, site: s, role: facility_total, quantity: energy_register, unit: kWh},\n"
        "         {id: m2, site: s, role: ups_output, quantity: energy_register, unit: kWh}]\n"
    )
    out = data_quality_hour(wh, root, H10.replace(tzinfo=dt.UTC))
    gpu = out.filter(pl.col("source") == "gpu").row(0, named=True)
    # A reported; B was seen 3 h ago and is silent; C was last seen 30 h ago and no longer expected.
    assert (gpu["expected"], gpu["reporting"], gpu["missing"]) == (2, 1, 1)
    assert gpu["time_coverage_ratio"] == 1800 / (2 * 3600)
    meters = out.filter(pl.col("source") == "facility").row(0, named=True)
    assert (meters["expected"], meters["reporting"], meters["coverage_ratio"]) == (2, 0, 0.0)


def test_an_unreadable_meters_file_is_left_to_the_facility_checks(tmp_path: Path) -> None:
    path = tmp_path / "meters.yaml"
    path.write_text("meters: [oops")
    assert configured_meters(path).is_empty()
    assert configured_meters(tmp_path / "absent.yaml").is_empty()

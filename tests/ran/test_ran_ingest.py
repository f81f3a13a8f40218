"""The RAN PM inbox: sites from directories, quarantine with reasons, the rest of the batch kept, idempotence."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl

from collectors.inbox import quarantined
from collectors.landing import LandingZone
from collectors.layout import DataRoot
from collectors.ran.ingest import ingest_pm_inbox
from tests.ran.pm_xml import billion_laughs, external_entity, simulated_gnb, write

UTC = dt.UTC


def _drop(root: DataRoot, rel: str, text: str) -> Path:
    return write(root.inbox("ran_pm") / rel, text)


def test_batch_with_hostile_files_keeps_the_good_ones(tmp_path: Path, samples: Path) -> None:
    root = DataRoot.at(tmp_path)
    good = _drop(
        root,
        "tyo1/A20261120.1300+0900-1315+0900_gnb-tyo1-01.xml",
        simulated_gnb("gnb-tyo1-01", "2026-11-20T13:15:00+09:00"),
    )
    _drop(root, "tyo1/xxe.xml", external_entity(tmp_path / "secret"))
    _drop(root, "tyo1/lol.xml", billion_laughs())
    text = simulated_gnb("gnb-tyo1-02", "2026-11-20T13:15:00+09:00")
    _drop(root, "tyo1/truncated.xml", text[: len(text) - 200])
    shutil.copy(samples / "ran" / "onap_pmmapper_A_no_managed_element.xml", root.inbox("ran_pm") / "tyo1")
    _drop(
        root,
        "osa2/A20261120.1315+0900-1330+0900_gnb-osa2-01.xml",
        simulated_gnb("gnb-osa2-01", "2026-11-20T13:30:00+09:00"),
    )

    report = ingest_pm_inbox(root)

    assert sorted(report.files_ok) == [
        "A20261120.1300+0900-1315+0900_gnb-tyo1-01.xml",
        "A20261120.1315+0900-1330+0900_gnb-osa2-01.xml",
    ]
    assert report.records == 56
    assert report.touched_hours == [dt.datetime(2026, 11, 20, 4, tzinfo=UTC)]
    assert sorted(report.quarantined) == [
        "lol.xml",
        "onap_pmmapper_A_no_managed_element.xml",
        "truncated.xml",
        "xxe.xml",
    ]
    assert "XXE" in report.quarantined["xxe.xml"]
    assert "billion laughs" in report.quarantined["lol.xml"]
    assert "truncated" in report.quarantined["truncated.xml"]
    assert "no managedElement" in report.quarantined["onap_pmmapper_A_no_managed_element.xml"]
    reasons = {r["file"]: r for r in quarantined(root, "ran_pm")}
    assert reasons["xxe.xml"]["site"] == "tyo1"
    assert reasons["truncated.xml"]["line"] is not None
    assert not good.exists()
    assert len(list(root.archive("ran_pm").rglob("*.xml"))) == 2
    landed = LandingZone(root).read_hour("ran_pm", dt.datetime(2026, 11, 20, 4, tzinfo=UTC))
    assert landed.group_by("site").len().sort("site").rows() == [("osa2", 28), ("tyo1", 28)]
    assert set(landed.get_column("producer")) == {"ran-pm-inbox"}
    assert landed.get_column("file_sha256").n_unique() == 2


def test_file_without_site_is_quarantined_unless_there_is_a_default(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    _drop(root, "loose.xml", simulated_gnb("g", "2026-11-20T04:15:00Z"))
    report = ingest_pm_inbox(root)
    assert report.files_ok == []
    assert "no site" in report.quarantined["loose.xml"]
    _drop(root, "loose2.xml", simulated_gnb("g", "2026-11-20T04:15:00Z"))
    report = ingest_pm_inbox(root, default_site="tyo1")
    assert report.files_ok == ["loose2.xml"]
    landed = LandingZone(root).read_hour("ran_pm", dt.datetime(2026, 11, 20, 4, tzinfo=UTC))
    assert set(landed.get_column("site")) == {"tyo1"}


def test_same_file_delivered_twice_lands_once_and_a_late_file_touches_its_hours(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    text = simulated_gnb("gnb-1", "2026-11-20T13:15:00+09:00")
    _drop(root, "site=tyo1/a.xml", text)
    first = ingest_pm_inbox(root)
    _drop(root, "site=tyo1/a-again.xml", text)  # the OSS re-sends the same bytes under another name
    again = ingest_pm_inbox(root)
    assert first.files_ok == ["a.xml"]
    assert again.files_ok == ["a-again.xml"]  # archived, but nothing landed again
    assert again.records == 0
    assert again.touched_hours == []
    assert "same content as 'a.xml'" in again.problems[0]
    zone = LandingZone(root)
    hour = dt.datetime(2026, 11, 20, 4, tzinfo=UTC)
    assert len(zone.files_for_hour("ran_pm", hour)) == 1
    assert zone.read_hour("ran_pm", hour).height == 28
    # A file for an earlier hour arrives late: only that hour is reported for re-materialisation.
    _drop(root, "site=tyo1/late.xml", simulated_gnb("gnb-1", "2026-11-20T09:15:00+09:00"))
    late = ingest_pm_inbox(root)
    assert late.touched_hours == [dt.datetime(2026, 11, 20, 0, tzinfo=UTC)]


def test_records_problems_are_reported_but_the_file_is_archived(tmp_path: Path, samples: Path) -> None:
    root = DataRoot.at(tmp_path)
    dest = root.inbox("ran_pm") / "lab"
    dest.mkdir(parents=True)
    shutil.copy(samples / "ran" / "bodastage_pm_dialogic_no_tz_empty_ldn.xml", dest)
    report = ingest_pm_inbox(root)
    assert report.records == 4
    assert len(report.problems) == 2
    assert any("'...' is not a counter name" in p for p in report.problems)


def test_growing_files_wait_for_min_age(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    _drop(root, "tyo1/new.xml", simulated_gnb("g", "2026-11-20T04:15:00Z"))
    assert ingest_pm_inbox(root, min_age_s=3600).files_ok == []
    assert ingest_pm_inbox(root).files_ok == ["new.xml"]


def test_quarantine_reason_file_is_machine_readable(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    _drop(root, "tyo1/bad.json", '{"hello": 1}')
    ingest_pm_inbox(root)
    reason_file = next(root.quarantine("ran_pm").rglob("*.reason.json"))
    detail = json.loads(reason_file.read_text())
    assert detail["reason"].startswith("unknown JSON layout")
    assert detail["kind"] == "ran_pm"
    assert isinstance(pl.DataFrame([detail]), pl.DataFrame)

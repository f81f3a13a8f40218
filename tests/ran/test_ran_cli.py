"""``aigrid parse pm``: records on stdout, problems on stderr, one line and exit 2 for a refused file."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aigrid.cli import cli, main


def test_jsonl_output(samples: Path) -> None:
    result = CliRunner().invoke(cli, ["parse", "pm", str(samples / "ran" / "C20190328.0000-0015.xml"), "--site", "dub"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 12
    first = rows[0]
    assert first["period_start"] == "2001-10-02T12:13:20Z"
    assert first["period_end"] == "2001-10-02T12:15:00Z"
    assert (first["site"], first["managed_element"], first["counter"], first["value"]) == ("dub", "Dublin1", "z1", 1.0)
    assert "12 record(s) from C20190328.0000-0015.xml (ts32435), 0 problem(s)" in result.stderr


def test_csv_output_and_problems_on_stderr(samples: Path) -> None:
    path = samples / "ran" / "bodastage_pm_dialogic_no_tz_empty_ldn.xml"
    result = CliRunner().invoke(cli, ["parse", "pm", str(path), "--format", "csv", "--default-tz", "+09:00"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["counter"] for r in rows] == [
        "Provisioned_Server_Capacity",
        "Provisioned_Bearer_Capacity",
        "Signaling_Link_Capacity",
        "Maximum_Service_Capacity",
    ]
    assert rows[0]["period_end"] == "2000-03-01T06:00:00Z"
    assert "warning:" in result.stderr
    assert "'...' is not a counter name" in result.stderr


def test_quiet_prints_only_records(samples: Path) -> None:
    path = samples / "ran" / "oai_telnet_o1_stats.json"
    result = CliRunner().invoke(cli, ["parse", "pm", str(path), "-q"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 6


def test_refused_file_prints_one_line_and_exits_2(
    samples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = samples / "ran" / "onap_pmmapper_A_no_managed_element.xml"
    monkeypatch.setattr(sys, "argv", ["aigrid", "parse", "pm", str(path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "line 8" in lines[0]
    assert "measData has no managedElement" in lines[0]

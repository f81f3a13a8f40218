"""The ``aigrid dashboards`` commands, as a user runs them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aigrid.cli import cli, main
from dashboards.render import GENERATED_DIR
from tests.dashboards.fake_grafana import TOKEN, FakeGrafana


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run the real entry point (one-line errors, exit codes) and return its exit status."""
    monkeypatch.setattr(sys, "argv", ["aigrid", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_build_writes_the_committed_bytes_and_check_reports_drift(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "gen"
    result = runner.invoke(cli, ["dashboards", "build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "AI grid · Energy & PUE" in result.output
    for path in GENERATED_DIR.rglob("*.json"):
        assert (out / path.relative_to(GENERATED_DIR)).read_bytes() == path.read_bytes()
    assert runner.invoke(cli, ["dashboards", "build", "--out", str(out), "--check"]).exit_code == 0
    (out / "aigrid" / "aigrid-fleet.json").write_text("{}")
    checked = runner.invoke(cli, ["dashboards", "build", "--out", str(out), "--check"])
    assert checked.exit_code == 1
    assert "drift: aigrid/aigrid-fleet.json: differs from the catalogue" in checked.output


def test_verify_passes_on_the_fixture_and_names_a_broken_panel(serving_file: Path, generated: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["dashboards", "verify", "--serving", str(serving_file), "--dir", str(generated)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip().endswith("6 dashboards, 324 queries run, 0 problem(s)")
    path = generated / "aigrid-health" / "aigrid-pipeline.json"
    d = json.loads(path.read_text(encoding="utf-8"))
    meters = next(p for p in d["panels"] if p.get("title") == "Meters")
    meters["targets"][0]["rawSql"] = meters["targets"][0]["rawSql"].replace("meter_id", "meter")
    path.write_text(json.dumps(d), encoding="utf-8")
    bad = runner.invoke(cli, ["dashboards", "verify", "--serving", str(serving_file), "--dir", str(generated)])
    assert bad.exit_code == 1
    assert "dashboard 'AI grid · Pipeline health (aigrid-pipeline)', panel 'Meters' (id 4)" in bad.output


def test_preview_command(serving_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "src" / "aigrid-health"
    source.mkdir(parents=True)
    (source / "aigrid-pipeline.json").write_bytes(
        (GENERATED_DIR / "aigrid-health" / "aigrid-pipeline.json").read_bytes()
    )
    out = tmp_path / "png"
    result = CliRunner().invoke(
        cli,
        ["dashboards", "preview", "--serving", str(serving_file), "--dir", str(source.parent), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "1 dashboards drawn" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["aigrid-pipeline.png", "index.html"]


def test_user_mistakes_are_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert _main(monkeypatch, "dashboards", "publish", "--url", "http://127.0.0.1:3000") == 2
    assert _main(monkeypatch, "dashboards", "verify", "--root", str(tmp_path)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: set GRAFANA_TOKEN to a Grafana service-account token (Editor role or better)",
        f"error: {tmp_path / 'serving' / 'current.duckdb'}: no serving file here; run the pipeline (or `aigrid demo`) "
        "first",
    ]


def test_publish_command_reads_the_token_from_the_named_variable(
    grafana: tuple[str, FakeGrafana],
    generated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, state = grafana
    monkeypatch.setenv("SITE_GRAFANA_TOKEN", TOKEN)
    code = _main(
        monkeypatch, "dashboards", "publish", "--url", url, "--token-env", "SITE_GRAFANA_TOKEN", "--dir", str(generated)
    )
    assert code == 0
    out = capsys.readouterr()
    assert f"published 6 dashboards to {url} (folders created: aigrid, aigrid-health; renamed: none)" in out.out
    assert TOKEN not in out.out + out.err
    assert len(state.dashboards) == 6
    monkeypatch.setenv("SITE_GRAFANA_TOKEN", "wrong")
    assert (
        _main(
            monkeypatch,
            "dashboards",
            "publish",
            "--url",
            url,
            "--token-env",
            "SITE_GRAFANA_TOKEN",
            "--dir",
            str(generated),
        )
        == 1
    )
    assert "answered 401" in capsys.readouterr().err

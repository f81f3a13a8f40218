"""``aigrid collect prometheus`` against a real Prometheus, and the time specs its flags take."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aigrid.cli import cli
from collectors.errors import InputError
from collectors.gpu.dcgm.synthetic import node_scrape
from collectors.gpu.prometheus.auth import authorization
from collectors.gpu.prometheus.timespec import parse_duration, parse_time
from collectors.landing import LandingZone
from tests.gpu.prometheus_server import binaries, create_blocks, prometheus_server, write_openmetrics

pytestmark = pytest.mark.timeout(120)

T0 = dt.datetime(2026, 11, 19, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prometheus, promtool = binaries()
    work = tmp_path_factory.mktemp("prometheus-cli")
    history = [(int(T0.timestamp()) + 60 * k, node_scrape(4, gpus=2, scrape=k)) for k in range(120)]
    write_openmetrics(work / "h.om", history, 'instance="dgx-0004:9400",job="dcgm-exporter"')
    create_blocks(promtool, work / "h.om", work / "data")
    with prometheus_server(prometheus, work / "data") as base:
        yield base


def test_collect_prometheus_lands_and_summarises(url: str, tmp_path: Path) -> None:
    args = ["collect", "prometheus", "--url", url, "--start", "2026-11-19T06:00:00Z", "--end", "2026-11-19T08:00Z"]
    result = CliRunner().invoke(cli, [*args, "--site", "tyo1", "--step", "1m", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "→ 240 GPU row(s), 0 XID event(s)" in result.stderr.replace("\n", " ")
    zone = LandingZone(tmp_path)
    gpu = zone.read_hours("gpu", zone.hours_present("gpu"))
    assert gpu.height == 240
    assert set(gpu.get_column("node")) == {"dgx-0004"}
    files = sorted((tmp_path / "landing" / "gpu").rglob("*.parquet"))
    again = CliRunner().invoke(cli, [*args, "--site", "tyo1", "--step", "1m", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert sorted((tmp_path / "landing" / "gpu").rglob("*.parquet")) == files  # the same hours, the same files


def test_an_unreachable_prometheus_says_how_to_resume(tmp_path: Path) -> None:
    args = [
        "collect",
        "prometheus",
        "--url",
        "http://127.0.0.1:9",
        "--start",
        "2026-11-19",
        "--end",
        "2026-11-19T02:00Z",
    ]
    result = CliRunner().invoke(cli, [*args, "--site", "s", "--out", str(tmp_path), "--timeout", "1s"])
    assert result.exit_code == 1
    assert "run the same command again to resume" in result.output


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m", 60), ("1h30m", 5400), ("2d", 172_800), ("500ms", 0.5), ("15", 15), ("1w", 604_800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "-5", "30x", "m5", "5m3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError, match="duration"):
        parse_duration(text, field="interval")


def test_times() -> None:
    now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    assert parse_time("2026-11-19T06:00:00Z") == T0
    assert parse_time("2026-11-19T15:00:00+09:00") == T0
    assert parse_time("2026-11-19 06:00") == T0  # naive = UTC
    assert parse_time("2026-11-19") == T0 - dt.timedelta(hours=6)
    assert parse_time("1795068000") == T0
    assert parse_time("now", now=now) == now
    assert parse_time("now-7d", now=now) == now - dt.timedelta(days=7)
    with pytest.raises(InputError, match="not a time"):
        parse_time("yesterday", field="start")


def test_credentials_from_files_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    assert authorization(username="u", password_file=password, password_env="X_PW") == "Basic dTpzM2NyZXQ="
    monkeypatch.setenv("X_PW", "s3cret")
    assert authorization(username="u", password_file=None, password_env="X_PW") == "Basic dTpzM2NyZXQ="
    monkeypatch.setenv("X_TOKEN", "tok")
    assert authorization(username=None, password_file=None, password_env="X_PW", token_env="X_TOKEN") == "Bearer tok"
    assert authorization(username=None, password_file=None, password_env="X_PW") is None
    monkeypatch.delenv("X_PW")
    with pytest.raises(InputError, match="needs a password file"):
        authorization(username="u", password_file=None, password_env="X_PW")

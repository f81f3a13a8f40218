"""``aigrid collect redfish`` against the DMTF mockups served on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from aigrid.cli import main
from aigrid.cli.collect_redfish import normalise_endpoint, parse_duration

pytestmark = pytest.mark.timeout(90)

PASSWORD = "c0rrect-h0rse"
PDU = "/redfish/v1/PowerEquipment/RackPDUs/1"
Start = Callable[..., Any]


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["aigrid", "collect", "redfish", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _landed(root: Path, source: str) -> pl.DataFrame:
    return pl.read_parquet(root / "landing" / source / "**" / "*.parquet")


def test_once_lands_pdu_circuits_outlets_and_server_power_supplies(
    redfish_samples: Path,
    redfish_server: Start,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIGRID_TEST_RF_PW", PASSWORD)
    pdu = redfish_server(redfish_samples / "public-pdu", users={"admin": PASSWORD})
    bmc = redfish_server(redfish_samples / "public-rackmount1", users={"admin": PASSWORD})
    common = ["--username", "admin", "--password-env", "AIGRID_TEST_RF_PW", "--site", "tyo1", "--out", str(tmp_path)]
    assert _run(monkeypatch, "--endpoint", f"{pdu.url}/redfish/v1/", "--once", *common) == 0
    assert _run(monkeypatch, "--endpoint", bmc.url, "--once", "--producer", "bmc-1u", *common) == 0
    rows = _landed(tmp_path, "facility")
    ids = set(rows["meter_id"])
    assert f"{PDU}/Mains/AC1#PolyPhasePowerWatts" in ids
    assert {f"{PDU}/Branches/{b}#EnergykWh" for b in "ABC"} <= ids
    assert {f"{PDU}/Outlets/{o}#PowerWatts" for o in ("A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3")} <= ids
    psu = "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics"
    assert {f"{psu}#InputPowerWatts", f"{psu}#EnergykWh"} <= ids
    assert set(rows["site"]) == {"tyo1"}
    assert set(rows["producer"]) == {"redfish-127.0.0.1", "bmc-1u"}
    health = _landed(tmp_path, "collector_health")
    assert health["ok"].to_list() == [True, True]
    err = capsys.readouterr().err
    assert "38 readings from" in err
    assert "7 readings from" in err
    assert PASSWORD not in err
    assert pdu.sessions == {}
    assert bmc.sessions == {}
    assert len(pdu.deleted) == len(bmc.deleted) == 1


def test_wrong_password_gives_one_error_line_and_exit_2(
    redfish_samples: Path,
    redfish_server: Start,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIGRID_TEST_RF_PW", "not-it")
    srv = redfish_server(redfish_samples / "public-pdu", users={"admin": PASSWORD})
    code = _run(
        monkeypatch,
        *("--endpoint", srv.url, "--username", "admin", "--password-env", "AIGRID_TEST_RF_PW"),
        *("--site", "tyo1", "--once", "--out", str(tmp_path)),
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert err == (
        f"error: {srv.url}: the Redfish service rejected the credentials of user 'admin' "
        "(HTTP 401, session authentication)\n"
    )
    assert "not-it" not in out + err
    assert not (tmp_path / "landing" / "facility").exists()


def test_missing_password_variable_and_bad_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIGRID_TEST_RF_UNSET", raising=False)
    code = _run(
        monkeypatch,
        *("--endpoint", "https://bmc.example", "--username", "admin", "--password-env", "AIGRID_TEST_RF_UNSET"),
        *("--site", "tyo1", "--once", "--out", str(tmp_path)),
    )
    assert code == 2
    assert capsys.readouterr().err == (
        "error: environment variable AIGRID_TEST_RF_UNSET is not set; it must hold the Redfish password\n"
    )
    code = _run(monkeypatch, "--endpoint", "bmc.example", "--site", "tyo1", "--once", "--out", str(tmp_path))
    assert code == 2
    assert "is not an http(s) URL" in capsys.readouterr().err


def test_unreachable_service_with_once_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(
        monkeypatch,
        *("--endpoint", "http://127.0.0.1:9", "--site", "tyo1", "--once", "--timeout", "2s", "--out", str(tmp_path)),
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: http://127.0.0.1:9: no Redfish service answered")
    health = _landed(tmp_path, "collector_health")
    assert health.select("ok", "target").rows() == [(False, "http://127.0.0.1:9")]


def test_list_prints_every_meter_id(
    redfish_samples: Path,
    redfish_server: Start,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    srv = redfish_server(redfish_samples / "public-rackmount1")
    assert _run(monkeypatch, "--endpoint", srv.url, "--site", "lab", "--once", "--list", "--out", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "/redfish/v1/Chassis/1U/Sensors/TotalPower#Reading" in out
    assert "325675" in out


def test_polling_loop_stops_cleanly_on_sigterm(redfish_samples: Path, redfish_server: Start, tmp_path: Path) -> None:
    srv = redfish_server(redfish_samples / "public-pdu", users={"admin": PASSWORD})
    env = {**os.environ, "AIGRID_TEST_RF_PW": PASSWORD}
    cmd = [sys.executable, "-m", "aigrid", "collect", "redfish", "--endpoint", srv.url, "--username", "admin"]
    cmd += ["--password-env", "AIGRID_TEST_RF_PW", "--site", "tyo1", "--interval", "1s", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        health = tmp_path / "landing" / "collector_health"
        while time.monotonic() < deadline and len(list(health.rglob("*.parquet"))) < 2:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert len(list(health.rglob("*.parquet"))) >= 2
    assert err.count("38 readings from") >= 2
    assert PASSWORD not in out + err
    assert srv.sessions == {}
    assert len(srv.deleted) == 1  # one session for the whole run, deleted at exit


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60.0), ("5m", 300.0), ("1h", 3600.0), ("90", 90.0), ("250ms", 0.25)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://bmc.example/redfish/v1/", "https://bmc.example"),
        ("https://bmc.example:8443/redfish", "https://bmc.example:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_endpoint_normalisation(url: str, base: str) -> None:
    assert normalise_endpoint(url) == base

"""``aigrid parse dcgm`` and ``aigrid collect dcgm`` as an operator runs them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from aigrid.cli import cli
from collectors.gpu.dcgm.fake_exporter import FakeExporter, Fault
from collectors.gpu.dcgm.synthetic import node_scrape
from collectors.landing import LandingZone

pytestmark = pytest.mark.timeout(60)


def test_parse_prints_one_json_record_per_gpu(samples: Path) -> None:
    path = samples / "dcgm" / "a100_mig_profiling_nvidia-cloud-native-docs.txt"
    result = CliRunner().invoke(cli, ["parse", "dcgm", str(path), "--ts", "2026-11-20T12:00:00Z", "--site", "tyo1"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["gpu_instance_id"], r["mig_profile"]) for r in records] == [(None, None), (13, "1g.5gb")]
    assert records[0]["ts"] == "2026-11-20T12:00:00+00:00"
    assert records[0]["site"] == "tyo1"
    assert records[0]["energy_counter_j"] == 319159.391
    assert "2 record(s) from 21 sample(s); 0 problem(s)" in result.stderr


def test_parse_csv_and_problems_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "scrape.txt"
    path.write_text(
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a",pod="p",namespace="n"} 61\n'
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",pod="p",namespace="n"} NaN\n'
        "{broken\n"
    )
    result = CliRunner().invoke(cli, ["parse", "dcgm", str(path), "--format", "csv", "--ts", "1795068000"])
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (row["gpu_uuid"], row["temp_c"], row["power_w"], row["node"]) == ("GPU-a", "61.0", "", "scrape")
    assert json.loads(row["holders"])[0]["pod"] == "p"
    assert f"warning: {path}:line 3: not a metric name" in result.stderr
    assert f"warning: {path}:line 2 (field 'power_w'): NaN for power_w" in result.stderr


def test_parse_health_prints_xid_events(tmp_path: Path) -> None:
    path = tmp_path / "xid.txt"
    path.write_text('DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-a",Hostname="n1",err_code="48",err_msg="DBE"} 48\n')
    result = CliRunner().invoke(cli, ["parse", "dcgm", str(path), "--health", "--ts", "1795068000"])
    (event,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (event["event"], event["code"], event["severity"], event["message"]) == ("xid", 48, "critical", "DBE")


def test_a_user_mistake_is_one_line_and_exit_2(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text("<html><body>404</body></html>\n")
    run = subprocess.run(
        [sys.executable, "-c", "from aigrid.cli import main; main()", "parse", "dcgm", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: {page}:line 1: body is an HTML/XML page, not a Prometheus text exposition"


@contextmanager
def exporters_in_background(bodies: list[str], faults: dict[int, Fault] | None = None) -> Iterator[list[str]]:
    """Fake exporters on their own event loop in a thread, so the CLI can run its own loop."""
    loop = asyncio.new_event_loop()
    exporter = FakeExporter(bodies, faults=faults)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        addresses = asyncio.run_coroutine_threadsafe(exporter.start(), loop).result(timeout=10)
        yield addresses
    finally:
        asyncio.run_coroutine_threadsafe(exporter.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_collect_once_lands_and_reports_each_target(tmp_path: Path) -> None:
    with exporters_in_background([node_scrape(1, gpus=2), node_scrape(2)], faults={1: Fault.HTML}) as addresses:
        targets = tmp_path / "targets.txt"
        targets.write_text(f"{addresses[0]} node=dgx-1\n{addresses[1]} site=osa1\n")
        result = CliRunner().invoke(
            cli,
            ["collect", "dcgm", "--targets-file", str(targets), "--site", "tyo1", "--out", str(tmp_path), "--once"],
        )
    assert result.exit_code == 0, result.output
    assert "landed 2 GPU row(s), 0 XID event(s), 2 scrape-health row(s)" in result.stderr
    assert "HTTP 502" in result.stderr
    zone = LandingZone(tmp_path)
    health = zone.read_hours("collector_health", zone.hours_present("collector_health")).sort("site")
    assert health.select("site", "ok", "error").rows() == [
        ("osa1", False, "HTTP 502 Bad Gateway (HTML page)"),
        ("tyo1", True, None),
    ]
    gpu = zone.read_hours("gpu", zone.hours_present("gpu"))
    assert gpu.height == 2
    assert gpu.get_column("producer").str.starts_with("dcgm-scraper@").all()


def test_collect_once_exits_1_when_no_target_answers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["collect", "dcgm", "--targets", "127.0.0.1:9", "--site", "s", "--out", str(tmp_path), "--once"]
    )
    assert result.exit_code == 1
    assert "Connection refused" in result.stderr
    zone = LandingZone(tmp_path)
    assert zone.read_hours("collector_health", zone.hours_present("collector_health")).height == 1


def test_collect_needs_exactly_one_way_to_name_targets(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["collect", "dcgm", "--site", "s", "--out", str(tmp_path), "--once"])
    assert result.exit_code == 2
    assert "exactly one of --targets or --targets-file" in result.output


def test_collect_reads_the_password_from_a_file_not_the_command_line(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    with exporters_in_background([node_scrape(1, gpus=1)]) as addresses:
        args = ["collect", "dcgm", "--targets", addresses[0], "--site", "s", "--out", str(tmp_path), "--once"]
        result = CliRunner().invoke(cli, [*args, "--username", "aigrid", "--password-file", str(secret)])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    for landed in (tmp_path / "landing").rglob("*.parquet"):
        assert "s3cret" not in str(pl.read_parquet(landed).rows())


def test_collect_runs_until_interrupted_and_lands_what_it_has(tmp_path: Path) -> None:
    with exporters_in_background([node_scrape(1, gpus=2), node_scrape(2, gpus=2)]) as addresses:
        args = ["collect", "dcgm", "--targets", ",".join(addresses), "--site", "tyo1", "--out", str(tmp_path)]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from aigrid.cli import main; main()",
                *args,
                "--interval",
                "0.5s",
                "--flush-every",
                "0.5s",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            zone = LandingZone(tmp_path)
            deadline = time.monotonic() + 30
            while not zone.hours_present("collector_health") and time.monotonic() < deadline:
                time.sleep(0.2)  # the first landed batch shows the process is up and scraping
            time.sleep(1.0)
        finally:
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped:" in stderr
    health = zone.read_hours("collector_health", zone.hours_present("collector_health"))
    assert health.get_column("ok").all()
    assert health.height >= 4  # both targets, at least twice
    assert zone.read_hours("gpu", zone.hours_present("gpu")).height == 2 * health.height

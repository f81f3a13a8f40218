"""``aigrid collect nvml`` as a user runs it: once, until a signal, without a driver, with bad flags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pynvml
import pytest
from click.testing import CliRunner

from aigrid.cli import cli
from aigrid.cli import collect_nvml as command
from collectors.gpu.nvml.fake import FakeNvml
from collectors.gpu.nvml.fakegpu import FakeGpu

REPO = Path(__file__).parents[2]


def landed(root: Path, source: str) -> pl.DataFrame:
    paths = sorted((root / "landing" / source).rglob("*.parquet"))
    return pl.concat([pl.read_parquet(p) for p in paths]) if paths else pl.DataFrame()


def test_once_with_the_fake_backend_lands_one_sample_and_prints_it(tmp_path: Path) -> None:
    args = ["collect", "nvml", "--site", "tyo1", "--node", "gpu-n01", "--once", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--backend", "fake"])
    assert result.exit_code == 0, result.output
    rows = landed(tmp_path, "gpu")
    assert rows.height == 11  # 8 GPUs + 3 MIG instances of GPU 6
    assert set(rows.get_column("producer")) == {"nvml-agent@gpu-n01"}
    assert set(rows.get_column("site")) == {"tyo1"}
    assert rows.filter(pl.col("gpu_instance_id").is_not_null()).get_column("mig_profile").to_list() == [
        "3g.40gb",
        "2g.20gb",
        "1g.10gb",
    ]
    assert "3g.40gb" in result.output
    assert "nvml-agent@gpu-n01: 1 sample(s), 11 GPU rows" in result.output


def driver_present() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


@pytest.mark.skipif(driver_present(), reason="an NVIDIA driver is installed here, so NVML does start")
def test_without_a_driver_the_real_backend_exits_3_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["collect", "nvml", "--site", "tyo1", "--once", "--out", str(tmp_path)])
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        "error: NVML library (libnvidia-ml.so.1) not found (NVML_ERROR_LIBRARY_NOT_FOUND): "
        "is the NVIDIA driver installed on this node?"
    ]
    assert not (tmp_path / "landing").exists()


def test_a_driver_that_is_not_loaded_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "pynvml", FakeNvml([FakeGpu("GPU-a")], driver="not_loaded"))
    result = CliRunner().invoke(cli, ["collect", "nvml", "--site", "tyo1", "--out", str(tmp_path)])
    assert result.exit_code == 3
    assert "NVIDIA kernel driver not loaded (NVML_ERROR_DRIVER_NOT_LOADED)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("interval", "message"),
    [("0s", "must be more than zero"), ("ten", "'ten' is not a duration such as 10s, 500ms or 1m")],
)
def test_a_bad_interval_is_a_usage_error(tmp_path: Path, interval: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["collect", "nvml", "--site", "s", "--interval", interval, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lands_the_last_batch_and_exits_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    """A real process: the agent samples every 0.2 s (its one-minute batch never fills), then is signalled."""
    env = {**os.environ, "NODE_NAME": "gpu-n02", "PYTHONPATH": str(REPO)}
    args = ["--site", "tyo1", "--interval", "0.2s", "--out", str(tmp_path), "--backend", "fake"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aigrid", "collect", "nvml", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "sampling" not in (proc.stderr.readline() if proc.stderr else ""):
            pass
        time.sleep(1.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    rows = landed(tmp_path, "gpu")
    samples = rows.get_column("ts").n_unique()
    assert samples >= 3
    assert rows.height == samples * 11
    assert "landing the last batch and stopping" in err
    assert f"nvml-agent@gpu-n02: {samples} sample(s), {rows.height} GPU rows" in err

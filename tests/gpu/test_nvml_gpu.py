"""On a real NVIDIA GPU: the agent's readings against ``nvidia-smi``'s for the same GPUs.

Skipped, with NVML's own reason, where ``pynvml`` cannot initialise (no driver or library): that is every CI
runner and the machine this was written on (see docs/nvml-agent.md, "On a real GPU").
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import time
from collections.abc import Iterator

import pynvml
import pytest

from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.errors import err_code, error_name

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def agent() -> Iterator[NvmlAgent]:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        pytest.skip(f"pynvml cannot initialise: {error_name(err_code(exc))} (no NVIDIA driver here)")
    pynvml.nvmlShutdown()
    nvml_agent = NvmlAgent(pynvml, site="test", node="gpu-node", interval_s=1.0, watch_events=True)
    nvml_agent.open()
    try:
        yield nvml_agent
    finally:
        nvml_agent.close()


def smi(query: str) -> list[list[str]]:
    if shutil.which("nvidia-smi") is None:
        pytest.skip("nvidia-smi is not on PATH")
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [[cell.strip() for cell in line.split(",")] for line in out.strip().splitlines()]


def test_the_agent_sees_the_gpus_nvidia_smi_sees_with_matching_identity_and_memory(agent: NvmlAgent) -> None:
    rows, events = agent.sample_rows(dt.datetime.now(dt.UTC))
    whole = [r for r in rows if r.get("gpu_instance_id") is None]
    expected = smi("index,uuid,name,memory.total")
    assert [(r["gpu_index"], r["gpu_uuid"], r["model"]) for r in whole] == [(int(i), u, n) for i, u, n, _ in expected]
    for row, (_i, _u, _n, mib) in zip(whole, expected, strict=True):
        assert row["mem_total_bytes"] // (1 << 20) == pytest.approx(int(mib), abs=1)
    assert [e for e in events if e["severity"] == "critical"] == []


def test_power_temperature_and_clocks_agree_with_nvidia_smi(agent: NvmlAgent) -> None:
    agent.sample_rows(dt.datetime.now(dt.UTC))
    time.sleep(1.0)
    rows = [r for r in agent.sample_rows(dt.datetime.now(dt.UTC))[0] if r.get("gpu_instance_id") is None]
    expected = smi("power.draw.average,temperature.gpu,clocks.max.sm,power.limit")
    for row, (power, temp, max_sm, limit) in zip(rows, expected, strict=True):
        if power not in ("[N/A]", "[Not Supported]") and row["power_w"] is not None:
            assert row["power_w"] == pytest.approx(float(power), rel=0.15, abs=15)
        assert row["temp_c"] == pytest.approx(float(temp), abs=3)
        assert 0 < row["sm_clock_hz"] <= float(max_sm) * 1e6
        assert row["power_limit_w"] == pytest.approx(float(limit), abs=1)
        assert row["energy_counter_j"] is None or row["energy_counter_j"] > 0

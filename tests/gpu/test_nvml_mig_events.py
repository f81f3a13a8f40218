"""MIG instances, GPM activity, NVML events and the agent's self-metrics."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pynvml
import pytest

from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.fake import FakeNvml
from collectors.gpu.nvml.fakegpu import A100_SXM, H100_SXM, FakeGpu, FakeMig
from collectors.gpu.nvml.mig import profile_from_name

TS = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
GIB = 1 << 30


def at(seconds: float) -> dt.datetime:
    return TS + dt.timedelta(seconds=seconds)


def agent_for(nvml: FakeNvml, **kwargs: Any) -> NvmlAgent:
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, clock=nvml.now, **kwargs)
    agent.open()
    return agent


def mig_gpu(board: Any = H100_SXM) -> FakeGpu:
    return FakeGpu(
        "GPU-mig0",
        board,
        power_mw=310_000,
        mig=[
            FakeMig(1, "3g.40gb", 40 * GIB, 12 * GIB, processes=[(5001, 12 * GIB)], util=0.75),
            FakeMig(2, "2g.20gb", 20 * GIB, 6 * GIB, compute_instances=2, processes=[(5002, 6 * GIB)], util=0.5),
            FakeMig(9, "1g.10gb", 10 * GIB),
        ],
    )


def test_a_mig_gpu_gives_one_row_per_gpu_instance_besides_the_whole_gpu() -> None:
    nvml = FakeNvml([mig_gpu(), FakeGpu("GPU-plain", util=0.2)])
    agent = agent_for(nvml)
    rows, events = agent.sample_rows(TS)
    assert events == []
    assert [(r["gpu_uuid"], r.get("gpu_instance_id"), r.get("mig_profile")) for r in rows] == [
        ("GPU-mig0", None, None),
        ("GPU-mig0", 1, "3g.40gb"),
        ("GPU-mig0", 2, "2g.20gb"),  # two compute instances share one GPU instance: one row
        ("GPU-mig0", 9, "1g.10gb"),
        ("GPU-plain", None, None),
    ]
    whole, first, second, third = rows[:4]
    assert whole["power_w"] == 310.0  # board power belongs to the whole GPU …
    assert "power_w" not in first
    assert "energy_counter_j" not in first
    assert (first["mem_used_bytes"], first["mem_total_bytes"]) == (12 * GIB, 40 * GIB)
    assert (third["mem_used_bytes"], third["mem_total_bytes"]) == (0, 10 * GIB)
    assert whole["mem_used_bytes"] == 18 * GIB
    assert [h["pid"] for h in first["holders"]] == [5001]
    assert [h["pid"] for h in second["holders"]] == [5002]
    assert third["holders"] == []
    # The whole GPU's holders are its instances' holders, so whole-GPU tenancy still sees who is on it.
    assert [(h["pid"], h["mem_used_bytes"]) for h in whole["holders"]] == [(5001, 12 * GIB), (5002, 6 * GIB)]
    assert whole["gpu_index"] == first["gpu_index"] == 0


def test_mig_utilisation_comes_from_gpm_between_two_samples() -> None:
    nvml = FakeNvml([mig_gpu()])
    agent = agent_for(nvml)
    first = agent.sample_rows(TS)[0]
    assert [r.get("util_ratio") for r in first] == [None, None, None, None]  # GPM needs two samples
    nvml.gpus[0].util = 0.6  # the whole GPU's graphics engine
    nvml.advance(10)
    second = agent.sample_rows(at(10))[0]
    utils = [r["util_ratio"] for r in second]
    assert utils == pytest.approx([0.6, 0.75, 0.5, 0.0])
    assert second[1]["sm_active_ratio"] == pytest.approx(0.675)  # 0.9 of the engine activity in the fake
    assert second[1]["tensor_active_ratio"] == pytest.approx(0.45)
    assert nvml.calls["nvmlDeviceGetUtilizationRates"] == 1  # NOT_SUPPORTED on MIG once, then not asked


def test_mig_without_gpm_has_memory_and_processes_but_no_utilisation() -> None:
    nvml = FakeNvml([mig_gpu(A100_SXM)])
    agent = agent_for(nvml)
    agent.sample_rows(TS)
    nvml.advance(10)
    rows = agent.sample_rows(at(10))[0]
    assert [r.get("util_ratio") for r in rows] == [None, None, None, None]
    assert [r["mem_used_bytes"] for r in rows[1:]] == [12 * GIB, 6 * GIB, 0]
    assert nvml.calls["nvmlGpmSampleGet"] == 0


def test_whole_gpu_gpm_activity_over_the_interval() -> None:
    nvml = FakeNvml([FakeGpu("GPU-h100", util=0.8, mem_util=0.3)])
    agent = agent_for(nvml)
    agent.sample_rows(TS)
    nvml.advance(10)
    row = agent.sample_rows(at(10))[0][0]
    assert row["util_ratio"] == 0.8  # NVML's own utilisation stays the primary figure
    assert row["gr_engine_active_ratio"] == pytest.approx(0.8)
    assert row["sm_active_ratio"] == pytest.approx(0.72)
    assert row["dram_active_ratio"] == pytest.approx(0.3)


def test_mig_layout_is_read_again_after_nvml_reports_a_change() -> None:
    nvml = FakeNvml([mig_gpu()])
    agent = agent_for(nvml, watch_events=True)
    try:
        assert len(agent.sample_rows(TS)[0]) == 4
        assert nvml.gpus[0].mig is not None
        nvml.gpus[0].mig.pop()  # the 1g.10gb instance is destroyed
        nvml.inject_event(0, pynvml.nvmlEventMigConfigChange)
        _, events = wait_for_events(agent, at(10))
        assert [e["event"] for e in events] == ["mig_config_change"]
        assert [r.get("gpu_instance_id") for r in agent.sample_rows(at(20))[0]] == [None, 1, 2]
    finally:
        agent.close()


def test_mig_layout_is_also_refreshed_on_a_slow_cadence() -> None:
    nvml = FakeNvml([mig_gpu()])
    agent = agent_for(nvml, mig_refresh_s=60)
    assert len(agent.sample_rows(TS)[0]) == 4
    assert nvml.gpus[0].mig is not None
    nvml.gpus[0].mig.append(FakeMig(13, "1g.10gb", 10 * GIB))
    assert len(agent.sample_rows(at(30))[0]) == 4
    assert [r.get("gpu_instance_id") for r in agent.sample_rows(at(60))[0]] == [None, 1, 2, 9, 13]


Rows = list[dict[str, Any]]


def wait_for_events(agent: NvmlAgent, ts: dt.datetime, timeout_s: float = 3.0) -> tuple[Rows, Rows]:
    """Sample until the event thread has delivered something (bounded in time): (GPU rows, health rows)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows, events = agent.sample_rows(ts)
        if events:
            return rows, events
        time.sleep(0.02)
    raise AssertionError("no event arrived")


def test_an_xid_arrives_through_the_event_set_as_a_health_row_and_on_the_gpu_row() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb")])
    agent = agent_for(nvml, watch_events=True)
    try:
        assert agent.events_unavailable is None
        nvml.inject_xid(1, 79)
        rows, events = wait_for_events(agent, at(10))
        assert [(e["gpu_uuid"], e["event"], e["code"], e["severity"], e["message"]) for e in events] == [
            ("GPU-bbbb", "xid", 79, "critical", "Xid 79: GPU has fallen off the bus")
        ]
        assert {r["gpu_uuid"]: r["xid_last"] for r in rows} == {"GPU-aaaa": None, "GPU-bbbb": 79}
        assert {r["gpu_uuid"]: r["xid_last"] for r in agent.sample_rows(at(20))[0]} == {
            "GPU-aaaa": None,
            "GPU-bbbb": None,  # an event, not a sticky gauge: the next sample has no new Xid
        }
    finally:
        agent.close()
    assert nvml.event_sets == []  # the set was freed


def test_other_critical_events_and_mig_scoped_xids() -> None:
    nvml = FakeNvml([mig_gpu()])
    agent = agent_for(nvml, watch_events=True)
    try:
        nvml.inject_event(0, pynvml.nvmlEventTypeDoubleBitEccError)
        nvml.inject_event(0, pynvml.nvmlEventTypeGpuRecoveryAction, pynvml.NVML_GPU_RECOVERY_ACTION_NODE_REBOOT)
        nvml.inject_xid(0, 13, gpu_instance_id=2)
        events = []
        deadline = time.monotonic() + 3
        while len(events) < 3 and time.monotonic() < deadline:
            events += agent.sample_rows(at(10))[1]
            time.sleep(0.02)
        assert [(e["event"], e["code"], e["gpu_instance_id"], e["severity"], e["message"]) for e in events] == [
            ("ecc_uncorrectable", None, None, "critical", "Double-bit ECC error"),
            ("recovery_action", 2, None, "critical", "GPU recovery action: NODE_REBOOT"),
            ("xid", 13, 2, "warning", "Xid 13: Graphics engine exception (usually an application fault)"),
        ]
    finally:
        agent.close()


def test_a_node_without_events_still_samples_and_says_why() -> None:
    board = H100_SXM.__class__("NVIDIA A100-PCIE-40GB (vGPU)", 40 * GIB, 30_000, 250_000, events=0)
    nvml = FakeNvml([FakeGpu("GPU-vgpu", board)])
    agent = agent_for(nvml, watch_events=True)
    assert agent.events_unavailable == "no GPU supports the watched event types"
    assert agent.watcher is None
    assert len(agent.sample_rows(TS)[0]) == 1


def test_self_metrics_give_field_latency_and_errors_by_code() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa", no_permission=frozenset({5}))])
    agent = agent_for(nvml)
    agent.sample_rows(TS)
    nvml.advance(10)
    agent.sample_rows(at(10))
    rows = {r["target"]: r for r in agent.metrics.drain(TS, "tyo1", "nvml-agent@n1")}
    power = rows["field/power_w"]
    assert (power["ok"], power["samples"], power["duration_s"], power["ts"]) == (True, 2, 12e-6, TS)
    assert "field/ecc_corrected_total" not in rows  # refused, so no latency
    denied = rows["nvml_error/NVML_ERROR_NO_PERMISSION"]
    assert (denied["ok"], denied["samples"], denied["error"]) == (False, 1, "NVML_ERROR_NO_PERMISSION")
    assert agent.metrics.drain(TS, "tyo1", "p") == []  # drained


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("NVIDIA H100 80GB HBM3 MIG 1g.10gb", "1g.10gb"),
        ("NVIDIA A100-SXM4-40GB MIG 1c.3g.20gb", "3g.20gb"),
        ("MIG 1g.10gb+me", "1g.10gb+me"),
        ("NVIDIA H200 MIG 7g.141gb", "7g.141gb"),
        ("NVIDIA H100 80GB HBM3", None),
    ],
)
def test_mig_profile_names(name: str, profile: str | None) -> None:
    assert profile_from_name(name) == profile


def test_a_gpu_that_comes_back_is_watched_for_events_again() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa", lost=True), FakeGpu("GPU-bbbb")])
    agent = agent_for(nvml, watch_events=True)
    try:
        assert agent.sample_rows(TS)[1] == []
        nvml.gpus[0].lost = False
        rows, events = agent.sample_rows(at(10))
        assert [r["gpu_uuid"] for r in rows] == ["GPU-aaaa", "GPU-bbbb"]
        assert [(e["gpu_uuid"], e["event"]) for e in events] == [("GPU-aaaa", "gpu_recovered")]
        nvml.inject_xid(0, 48)
        _, events = wait_for_events(agent, at(20))
        assert [(e["gpu_uuid"], e["code"], e["severity"]) for e in events] == [("GPU-aaaa", 48, "critical")]
    finally:
        agent.close()

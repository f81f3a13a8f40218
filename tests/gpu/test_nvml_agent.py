"""The NVML agent against a fake NVML that answers and fails the way real GPUs and drivers do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pynvml
import pytest

from collectors.gpu.nvml import errors
from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.fake import FakeNvml
from collectors.gpu.nvml.fakegpu import A100_SXM, H100_SXM, L40S, FakeGpu
from collectors.gpu.nvml.fieldvalues import GPU_FIELDS

TS = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return TS + dt.timedelta(seconds=seconds)


def agent_for(nvml: FakeNvml, **kwargs: Any) -> NvmlAgent:
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, clock=nvml.now, **kwargs)
    agent.open()
    return agent


def by_uuid(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["gpu_uuid"]: r for r in rows if r.get("gpu_instance_id") is None}


def test_one_row_per_gpu_with_every_value_in_its_canonical_unit() -> None:
    gpu = FakeGpu(
        "GPU-aaaa", H100_SXM, util=0.87, mem_util=0.4, power_mw=250_000, power_instant_mw=262_500,
        mem_used=10 << 30, temp_c=61, mem_temp_c=67, sm_mhz=1980, throttle=0x4, pstate=0, energy_mj=1.5e9,
        ecc_corrected=3, ecc_uncorrected=1, remapped_correctable=2, remap_pending=True,
    )  # fmt: skip
    agent = agent_for(FakeNvml([gpu, FakeGpu("GPU-bbbb")]))
    rows, events = agent.sample_rows(TS)
    assert events == []
    assert len(rows) == 2
    a = by_uuid(rows)["GPU-aaaa"]
    assert a["ts"] == TS
    assert a["gpu_index"] == 0
    assert a["model"] == "NVIDIA H100 80GB HBM3"
    assert a["util_ratio"] == 0.87
    assert a["mem_util_ratio"] == 0.4
    assert a["power_w"] == 250.0  # mW → W
    assert a["power_instant_w"] == 262.5
    assert a["energy_counter_j"] == 1_500_000.0  # mJ → J
    assert a["power_limit_w"] == 700.0
    assert a["mem_used_bytes"] == 10 << 30
    assert a["mem_total_bytes"] == 81559 << 20
    assert a["temp_c"] == 61.0
    assert a["mem_temp_c"] == 67.0
    assert a["sm_clock_hz"] == 1.98e9  # MHz → Hz
    assert a["mem_clock_hz"] == 2.619e9
    assert a["throttle_reasons"] == 0x4  # SW power cap
    assert a["pstate"] == 0
    assert (a["ecc_corrected_total"], a["ecc_uncorrected_total"]) == (3, 1)
    assert (a["remapped_rows_correctable"], a["remapped_rows_uncorrectable"]) == (2, 0)
    assert (a["remap_pending"], a["remap_failed"]) == (True, False)
    assert a["holders"] == []
    assert (a["site"], a["node"], a["source"], a["producer"]) == ("tyo1", "n1", "nvml", "nvml-agent@n1")


def test_power_follows_utilisation_and_energy_integrates_it_between_samples() -> None:
    gpu = FakeGpu("GPU-aaaa", H100_SXM, util=0.5)  # 70 W idle + 0.5 × 630 W = 385 W
    nvml = FakeNvml([gpu])
    agent = agent_for(nvml)
    first = agent.sample_rows(TS)[0][0]
    nvml.advance(10)
    second = agent.sample_rows(at(10))[0][0]
    assert first["power_w"] == 385.0
    assert second["energy_counter_j"] - first["energy_counter_j"] == pytest.approx(3850.0)  # 385 W × 10 s


def test_unsupported_fields_are_null_quietly_and_not_asked_again() -> None:
    nvml = FakeNvml([FakeGpu("GPU-l40s", L40S, util=0.3)])
    agent = agent_for(nvml)
    for n in range(3):
        sample = agent.sample(at(10 * n))  # as it lands: every column of the schema, nulls included
        nvml.advance(10)
        assert sample.health.is_empty()
        row = sample.gpus.row(0, named=True)
        # GDDR board: no HBM temperature, no NVLink, no row remapping — null, not zero.
        assert row["mem_temp_c"] is None
        assert row["nvlink_tx_bytes_s"] is None
        assert row["remap_pending"] is None
        assert row["power_w"] == pytest.approx(35.0 + 0.3 * 315.0)
    asked = {spec.field_id for spec in agent.devices[0].plan}
    assert pynvml.NVML_FI_DEV_MEMORY_TEMP not in asked
    assert pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX not in asked
    assert pynvml.NVML_FI_DEV_POWER_AVERAGE in asked
    # Seven refused fields and the MIG-mode query, each refused once over three samples: not asked again.
    assert agent.metrics.errors == {pynvml.NVML_ERROR_NOT_SUPPORTED: 8}


def test_a_field_without_permission_is_null_and_the_rest_of_the_batch_is_kept() -> None:
    gpu = FakeGpu("GPU-aaaa", ecc_uncorrected=5, ecc_corrected=9, no_permission=frozenset({6}))
    rows, events = agent_for(FakeNvml([gpu])).sample_rows(TS)
    assert events == []
    assert rows[0].get("ecc_uncorrected_total") is None  # NVML_FI_DEV_ECC_DBE_AGG_TOTAL: NO_PERMISSION
    assert rows[0]["ecc_corrected_total"] == 9


def test_pcie_and_nvlink_counters_become_byte_rates_from_the_second_sample() -> None:
    gpu = FakeGpu("GPU-aaaa", pcie_tx_bps=2.5e9, pcie_rx_bps=6.0e9, nvlink_tx_bps=120e9, nvlink_rx_bps=64e9)
    nvml = FakeNvml([gpu])
    agent = agent_for(nvml)
    first = agent.sample_rows(TS)[0][0]
    assert first["pcie_tx_bytes_s"] is None  # a rate needs two readings
    nvml.advance(10)
    second = agent.sample_rows(at(10))[0][0]
    assert second["pcie_tx_bytes_s"] == pytest.approx(2.5e9)
    assert second["pcie_rx_bytes_s"] == pytest.approx(6.0e9)
    assert second["nvlink_tx_bytes_s"] == pytest.approx(120e9)  # KiB counter × 1024 / 10 s
    assert second["nvlink_rx_bytes_s"] == pytest.approx(64e9)
    assert nvml.calls["nvmlDeviceGetPcieThroughput"] == 0  # the 20 ms blocking getter is never needed here


def test_boards_without_pcie_counters_measure_pcie_in_turn_on_a_slow_cadence() -> None:
    gpus = [FakeGpu(f"GPU-{i}", A100_SXM, pcie_tx_bps=1024e6 * (i + 1), pcie_rx_bps=2048e6) for i in range(2)]
    nvml = FakeNvml(gpus)
    agent = agent_for(nvml, pcie_every_s=30)  # every 3rd sample per GPU, GPUs in turn
    measured: list[tuple[int, str, float | None]] = []
    for n in range(6):
        for row in agent.sample_rows(at(10 * n))[0]:
            if row.get("pcie_tx_bytes_s") is not None:
                measured.append((n, row["gpu_uuid"], row["pcie_tx_bytes_s"]))
        nvml.advance(10)
    assert measured == [(0, "GPU-0", 1024e6), (1, "GPU-1", 2048e6), (3, "GPU-0", 1024e6), (4, "GPU-1", 2048e6)]
    assert nvml.calls["nvmlDeviceGetPcieThroughput"] == 8  # two directions × four measurements, not 24


def test_pre_ampere_power_comes_from_the_getter_when_the_field_is_missing() -> None:
    old_board = H100_SXM.__class__(
        "Tesla V100-SXM2-32GB", 32 << 30, 40_000, 300_000, H100_SXM.fields - {pynvml.NVML_FI_DEV_POWER_AVERAGE}
    )
    rows, _ = agent_for(FakeNvml([FakeGpu("GPU-v100", old_board, power_mw=123_456)])).sample_rows(TS)
    assert rows[0]["power_w"] == pytest.approx(123.456)


def test_a_lost_gpu_is_one_health_event_the_others_are_sampled_and_it_comes_back() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb")])
    agent = agent_for(nvml)
    nvml.gpus[1].lost = True
    rows, events = agent.sample_rows(TS)
    assert [r["gpu_uuid"] for r in rows] == ["GPU-aaaa"]
    assert [(e["gpu_uuid"], e["event"], e["code"], e["severity"]) for e in events] == [
        ("GPU-bbbb", "gpu_lost", pynvml.NVML_ERROR_GPU_IS_LOST, "critical")
    ]
    assert agent.problems == ["GPU 1: NVML_ERROR_GPU_IS_LOST"]
    rows, events = agent.sample_rows(at(10))
    assert events == []  # reported once, not every sample
    assert len(rows) == 1
    nvml.gpus[1].lost = False
    rows, events = agent.sample_rows(at(20))
    assert sorted(r["gpu_uuid"] for r in rows) == ["GPU-aaaa", "GPU-bbbb"]
    assert [(e["gpu_uuid"], e["event"], e["severity"]) for e in events] == [("GPU-bbbb", "gpu_recovered", "info")]


def test_a_gpu_that_needs_a_reset_is_reported_as_such() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa", reset_required=True), FakeGpu("GPU-bbbb")])
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, clock=nvml.now)
    opened = agent.open()  # it already needs a reset when the agent starts: no UUID can be read
    assert [(e["gpu_uuid"], e["event"], e["code"]) for e in opened] == [
        (None, "reset_required", pynvml.NVML_ERROR_RESET_REQUIRED)
    ]
    assert opened[0]["message"] == "GPU index 0 did not answer: NVML_ERROR_RESET_REQUIRED"
    rows, events = agent.sample_rows(TS)
    assert ([r["gpu_uuid"] for r in rows], events) == (["GPU-bbbb"], [])
    nvml.gpus[0].reset_required = False
    rows, events = agent.sample_rows(at(10))
    assert sorted(r["gpu_uuid"] for r in rows) == ["GPU-aaaa", "GPU-bbbb"]
    assert [(e["gpu_uuid"], e["event"]) for e in events] == [("GPU-aaaa", "gpu_recovered")]


def test_an_unexpected_failure_in_one_read_is_a_health_row_and_the_node_is_still_sampled() -> None:
    class Flaky(FakeNvml):
        def nvmlDeviceGetPerformanceState(self, h: Any) -> int:
            if h.index == 0:
                raise ValueError("garbled answer")
            return super().nvmlDeviceGetPerformanceState(h)

    agent = agent_for(Flaky([FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb")]))
    rows, events = agent.sample_rows(TS)
    assert [r["gpu_uuid"] for r in rows] == ["GPU-bbbb"]
    assert [(e["gpu_uuid"], e["event"], e["message"]) for e in events] == [
        ("GPU-aaaa", "read_error", "ValueError: garbled answer")
    ]
    rows, events = agent.sample_rows(at(10))
    assert (len(rows), events) == (1, [])  # the same failure is not a new event every sample …
    assert agent.problems == ["GPU 0: ValueError: garbled answer"]  # … but every sample's self-metric says it


def test_an_odd_nvml_code_leaves_one_value_null_and_is_counted() -> None:
    class Blocked(FakeNvml):
        def nvmlDeviceGetCurrentClocksEventReasons(self, h: Any) -> int:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_OPERATING_SYSTEM)

    agent = agent_for(Blocked([FakeGpu("GPU-aaaa", throttle=0x40)]))
    rows, events = agent.sample_rows(TS)
    assert events == []
    assert rows[0]["throttle_reasons"] is None
    assert rows[0]["pstate"] == 0
    assert agent.metrics.errors == {pynvml.NVML_ERROR_OPERATING_SYSTEM: 1}


def test_no_driver_and_no_library_are_reported_at_open() -> None:
    for driver, code in (("missing", pynvml.NVML_ERROR_LIBRARY_NOT_FOUND), ("not_loaded", 9)):
        with pytest.raises(errors.NvmlUnavailableError) as caught:
            NvmlAgent(FakeNvml([FakeGpu("GPU-a")], driver=driver), site="s", node="n", interval_s=10).open()
        assert caught.value.code == code
        assert code in errors.NO_DRIVER
    assert "libnvidia-ml.so.1" in str(errors.NvmlUnavailableError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND))


def test_a_driver_upgrade_stops_sampling_until_nvml_initialises_again() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa", util=0.5)])
    agent = agent_for(nvml)
    assert len(agent.sample_rows(TS)[0]) == 1
    nvml.mismatch = True
    rows, events = agent.sample_rows(at(10))
    assert rows == []
    assert [(e["gpu_uuid"], e["event"], e["code"], e["severity"]) for e in events] == [
        (None, "nvml_unavailable", pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "critical")
    ]
    assert agent.outage is not None
    assert agent.outage[0] == pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH
    rows, events = agent.sample_rows(at(20))  # re-initialisation fails again: no new event, a problem line
    assert (rows, events) == ([], [])
    assert agent.problems == [errors.describe_library_error(pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH)]
    nvml.mismatch = False
    rows, events = agent.sample_rows(at(30))
    assert [r["gpu_uuid"] for r in rows] == ["GPU-aaaa"]
    assert [(e["event"], e["message"]) for e in events] == [
        ("nvml_reinitialised", "NVML re-initialised; 1 of 1 GPUs answer")
    ]
    assert agent.outage is None


def test_a_driver_reload_is_survived_and_the_restarted_energy_counter_is_reported_as_is() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa", power_mw=100_000, energy_mj=5e9)])
    agent = agent_for(nvml)
    before = agent.sample_rows(TS)[0][0]["energy_counter_j"]
    nvml.reload_driver()  # stale handles answer UNINITIALIZED; the counter restarts from zero
    rows, events = agent.sample_rows(at(10))
    assert rows == []
    assert [e["event"] for e in events] == ["nvml_unavailable"]
    nvml.advance(10)
    rows, events = agent.sample_rows(at(20))
    assert [e["event"] for e in events] == ["nvml_reinitialised"]
    assert before == 5e6
    assert rows[0]["energy_counter_j"] == pytest.approx(1000.0)  # 100 W × 10 s since the reload


def test_every_gpu_lost_for_a_while_reinitialises_nvml_backing_off() -> None:
    nvml = FakeNvml([FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb")])
    agent = agent_for(nvml, reinit_after_lost=2)
    for gpu in nvml.gpus:
        gpu.lost = True
    inits = []
    for n in range(10):
        agent.sample_rows(at(10 * n))
        inits.append(nvml.calls["nvmlInit"])
    # After 2 all-lost samples NVML is re-initialised, then after 4, then 8: doubling while nothing comes back.
    assert inits == [1, 1, 2, 2, 2, 2, 3, 3, 3, 3]


def test_the_batched_fields_cover_the_issue_list() -> None:
    columns = {spec.column for spec in GPU_FIELDS}
    assert {"power_w", "power_instant_w", "energy_counter_j", "power_limit_w", "ecc_uncorrected_total"} <= columns
    assert {"remapped_rows_uncorrectable", "pcie_tx_bytes_s", "nvlink_rx_bytes_s"} <= columns

"""The NVML agent against fake NVML libraries that fail the way real GPUs do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pynvml
import pytest

from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.procmap import PodIndex, ProcessMapper, owner_from_cgroup

TS = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


class FakeGpu:
    def __init__(self, uuid: str, power_mw: int = 250_000, energy_mj: int = 10**9) -> None:
        self.uuid = uuid
        self.power_mw = power_mw
        self.energy_mj = energy_mj
        self.lost = False
        self.processes: list[tuple[int, int]] = []  # (pid, used bytes)


class FakeNvml:
    """Two GPUs; memory temperature unsupported on GPU 1 (GDDR), per-field NO_PERMISSION on ECC."""

    def __init__(self) -> None:
        self.gpus = [FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb", power_mw=80_000)]
        self.no_driver = False

    def nvmlInit(self) -> None:
        if self.no_driver:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    def nvmlShutdown(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeGpu:
        return self.gpus[i]

    def _check(self, h: FakeGpu) -> None:
        if h.lost:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)

    def nvmlDeviceGetUUID(self, h: FakeGpu) -> str:
        self._check(h)
        return h.uuid

    def nvmlDeviceGetName(self, h: FakeGpu) -> str:
        return "NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetMemoryInfo(self, h: FakeGpu, version: Any = None) -> Any:
        self._check(h)
        return pynvml.c_nvmlMemory_t(total=80 << 30, free=70 << 30, used=10 << 30)

    def nvmlDeviceGetUtilizationRates(self, h: FakeGpu) -> Any:
        self._check(h)
        return pynvml.c_nvmlUtilization_t(gpu=87, memory=40)

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:
        self._check(h)
        return 61

    def nvmlDeviceGetClockInfo(self, h: FakeGpu, clock: int) -> int:
        self._check(h)
        return 1980 if clock == pynvml.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: FakeGpu) -> int:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    def nvmlDeviceGetPerformanceState(self, h: FakeGpu) -> int:
        return 0

    def nvmlDeviceGetFieldValues(self, h: FakeGpu, ids: list[int]) -> Any:
        self._check(h)
        values = (pynvml.c_nvmlFieldValue_t * len(ids))()
        for fv, fid in zip(values, ids, strict=True):
            fv.fieldId = fid
            fv.nvmlReturn = pynvml.NVML_SUCCESS
            fv.valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
            if fid == pynvml.NVML_FI_DEV_POWER_AVERAGE:
                fv.value.uiVal = h.power_mw
            elif fid == pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION:
                fv.valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
                fv.value.ullVal = h.energy_mj
            elif fid == pynvml.NVML_FI_DEV_MEMORY_TEMP and h.uuid == "GPU-bbbb":
                fv.nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
            elif fid == pynvml.NVML_FI_DEV_ECC_DBE_AGG_TOTAL:
                fv.nvmlReturn = pynvml.NVML_ERROR_NO_PERMISSION
            else:
                fv.value.uiVal = 7
        return values

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeGpu) -> list[Any]:
        self._check(h)
        return [
            pynvml.nvmlStructToFriendlyObject(pynvml.c_nvmlProcessInfo_v3_t(pid=pid, usedGpuMemory=used))
            for pid, used in h.processes
        ]

    def nvmlDeviceGetProcessUtilization(self, h: FakeGpu, last: int) -> list[Any]:
        if not h.processes:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return [pynvml.c_nvmlProcessUtilizationSample_t(pid=h.processes[0][0], timeStamp=5, smUtil=60)]


def test_a_sample_has_values_in_canonical_units_and_skips_unsupported_fields_quietly() -> None:
    agent = NvmlAgent(FakeNvml(), site="tyo1", node="n1", interval_s=10)
    agent.open()
    sample = agent.sample(TS)
    assert sample.health.is_empty()
    rows = {r["gpu_uuid"]: r for r in sample.gpus.iter_rows(named=True)}
    a, b = rows["GPU-aaaa"], rows["GPU-bbbb"]
    assert a["power_w"] == 250.0
    assert a["energy_counter_j"] == 1_000_000.0
    assert a["util_ratio"] == 0.87
    assert a["mem_used_bytes"] == 10 << 30
    assert a["sm_clock_hz"] == 1.98e9
    assert a["mem_temp_c"] == 7.0
    assert b["mem_temp_c"] is None  # NOT_SUPPORTED on this board
    assert a["ecc_uncorrected_total"] is None  # NO_PERMISSION
    assert a["throttle_reasons"] is None
    assert a["holders"] == []
    assert a["producer"] == "nvml-agent@n1"


def test_a_lost_gpu_is_a_health_event_the_others_are_still_sampled_and_it_is_retried() -> None:
    nvml = FakeNvml()
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10)
    agent.open()
    nvml.gpus[1].lost = True
    first = agent.sample(TS)
    assert first.gpus.get_column("gpu_uuid").to_list() == ["GPU-aaaa"]
    assert first.health.select("gpu_uuid", "event", "code", "severity").row(0) == (
        "GPU-bbbb",
        "gpu_lost",
        pynvml.NVML_ERROR_GPU_IS_LOST,
        "critical",
    )
    second = agent.sample(TS + dt.timedelta(seconds=10))
    assert second.health.is_empty()  # reported once, not every sample
    nvml.gpus[1].lost = False
    third = agent.sample(TS + dt.timedelta(seconds=20))
    assert sorted(third.gpus.get_column("gpu_uuid").to_list()) == ["GPU-aaaa", "GPU-bbbb"]
    assert third.health.get_column("event").to_list() == ["gpu_recovered"]


def test_no_driver_is_an_error_at_open() -> None:
    nvml = FakeNvml()
    nvml.no_driver = True
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10).open()


def test_processes_are_mapped_to_pods_through_their_cgroup(tmp_path: Path) -> None:
    uid = "3f1d2c4b-8a7e-4e5f-9a0b-1c2d3e4f5a6b"
    cid = "ab" * 32
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "cgroup").write_text(
        f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid.replace('-', '_')}.slice/"
        f"cri-containerd-{cid}.scope\n"
    )
    pods = PodIndex.from_json(
        {
            "items": [
                {
                    "metadata": {"uid": uid, "namespace": "sakura-ai-train", "name": "llm-7b-0"},
                    "status": {"containerStatuses": [{"name": "trainer", "containerID": f"containerd://{cid}"}]},
                }
            ]
        }
    )
    nvml = FakeNvml()
    nvml.gpus[0].processes = [(4242, 9 << 30), (999, 1 << 30)]
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, processes=ProcessMapper(tmp_path, pods))
    agent.open()
    holders = agent.sample(TS).gpus.row(0, named=True)["holders"]
    assert holders[0] == {
        "namespace": "sakura-ai-train",
        "pod": "llm-7b-0",
        "container": "trainer",
        "pod_uid": uid,
        "hpc_job": None,
        "pid": 4242,
        "util_ratio": 0.6,
        "mem_used_bytes": 9 << 30,
    }
    assert holders[1]["pid"] == 999
    assert holders[1]["namespace"] is None  # gone from /proc: kept as an unknown holder, not dropped


@pytest.mark.parametrize(
    ("cgroup", "expected"),
    [
        ("0::/system.slice/slurmstepd.scope/job_71234/step_0/user/task_0\n", {"hpc_job": "71234"}),
        ("4:devices:/slurm/uid_1000/job_55/step_batch\n", {"hpc_job": "55"}),
        (
            "11:pids:/kubepods/burstable/pod0e3c9a52-6b1f-4a8e-8f0c-3d2b1a0f9e8d/" + "cd" * 32 + "\n",
            {"pod_uid": "0e3c9a52-6b1f-4a8e-8f0c-3d2b1a0f9e8d"},
        ),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", {}),
    ],
)
def test_cgroup_paths_of_slurm_and_kubernetes(cgroup: str, expected: dict[str, str]) -> None:
    owner = owner_from_cgroup(cgroup)
    got = {k: v for k, v in owner.__dict__.items() if v is not None}
    assert got == expected

# ruff: noqa: N802, N815  (names mirror pynvml's: nvmlDeviceGet…, eventType …)
"""A fake NVML library that behaves like real GPUs, for tests, benchmarks and ``--backend fake``.

It offers the ``pynvml`` functions the agent calls, answering with ``pynvml``'s own structs and raising
``pynvml.NVMLError`` (so the per-code subclasses match) the way a driver does: field values with a return code
per field, NOT_SUPPORTED for what a board lacks, MIG devices behind a MIG-enabled GPU, process lists, GPM
samples, an event set that delivers Xids and other events, GPU_IS_LOST / RESET_REQUIRED for a GPU in trouble,
LIBRARY_NOT_FOUND / DRIVER_NOT_LOADED without a driver, LIB_RM_VERSION_MISMATCH during a driver upgrade.
Time is the fake's own (``advance``) unless a clock is given; every call is counted in ``calls``.
"""

from __future__ import annotations

import ctypes
import queue
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pynvml

from collectors.gpu.nvml.events import XID, handle_key
from collectors.gpu.nvml.fakegpu import H100_SXM, FakeGpu, FakeMig
from collectors.gpu.nvml.fieldvalues import ALL_LINKS, encode

E = pynvml
_U32, _U64 = int(E.NVML_VALUE_TYPE_UNSIGNED_INT), int(E.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG)
FIELD_LATENCY_US = 12  #: what the fake reports as each field's latencyUsec
_MIB = 1024.0 * 1024.0
Driver = Literal["ok", "missing", "not_loaded"]


@dataclass(frozen=True)
class FakeHandle:
    """A device handle: a GPU, or a MIG device (GPU instance, compute instance) of it, in one NVML session."""

    index: int
    generation: int
    gi: int | None = None
    ci: int | None = None


@dataclass(frozen=True)
class FakeEventData:
    """What ``nvmlEventSetWait`` returns (the fields of ``c_nvmlEventData_t``)."""

    device: FakeHandle
    eventType: int
    eventData: int
    gpuInstanceId: int
    computeInstanceId: int


class FakeEventSet:
    def __init__(self) -> None:
        self.masks: dict[int, int] = {}  # GPU index -> registered event types
        self.queue: queue.Queue[FakeEventData] = queue.Queue()


class FakeNvml:
    """The NVML functions over a list of :class:`FakeGpu`."""

    def __init__(
        self,
        gpus: list[FakeGpu],
        driver: Driver = "ok",
        start: float = 1_795_000_000.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.gpus = gpus
        self.driver = driver
        self.mismatch = False
        self.initialised = False
        self.generation = 0
        self.calls: Counter[str] = Counter()
        self.event_sets: list[FakeEventSet] = []
        self._clock = clock
        self._time = start
        self._synced = self.now()
        self._handles: dict[tuple[int, int, int | None, int | None], FakeHandle] = {}
        self._gpm_buffers: dict[int, Any] = {}
        self._gpm_snapshots: dict[int, tuple[float, ...]] = {}

    # -- time and faults --------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() if self._clock is not None else self._time

    def advance(self, seconds: float) -> None:
        """Move the fake's own clock (ignored when a real clock drives it)."""
        self._time += seconds
        self._sync()

    def inject_event(self, index: int, event_type: int, data: int = 0, gpu_instance_id: int | None = None) -> None:
        """Deliver an event for GPU ``index`` to every event set registered for that type."""
        handle = self._handle(index, gpu_instance_id, 0 if gpu_instance_id is not None else None)
        gi = 0xFFFFFFFF if gpu_instance_id is None else gpu_instance_id
        for es in self.event_sets:
            if es.masks.get(index, 0) & event_type:
                es.queue.put(FakeEventData(handle, event_type, data, gi, 0xFFFFFFFF))

    def inject_xid(self, index: int, xid: int, gpu_instance_id: int | None = None) -> None:
        self.inject_event(index, XID, xid, gpu_instance_id)

    def reload_driver(self) -> None:
        """The driver was reloaded under the agent: its handles go stale and the counters restart."""
        self.generation += 1
        self.initialised = False
        for gpu in self.gpus:
            gpu.reset_counters()

    # -- lifecycle and inventory ------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.calls["nvmlInit"] += 1
        if self.driver == "missing":
            raise E.NVMLError(E.NVML_ERROR_LIBRARY_NOT_FOUND)
        if self.driver == "not_loaded":
            raise E.NVMLError(E.NVML_ERROR_DRIVER_NOT_LOADED)
        if self.mismatch:
            raise E.NVMLError(E.NVML_ERROR_LIB_RM_VERSION_MISMATCH)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.calls["nvmlShutdown"] += 1
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:
        self._ready("nvmlSystemGetDriverVersion")
        return "580.95.05"

    def nvmlDeviceGetCount(self) -> int:
        self._ready("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeHandle:
        self._ready("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise E.NVMLError(E.NVML_ERROR_INVALID_ARGUMENT)
        self._check(self.gpus[index])
        return self._handle(index)

    def nvmlDeviceGetUUID(self, h: FakeHandle) -> str:
        gpu = self._gpu(h, "nvmlDeviceGetUUID")
        return gpu.uuid if h.gi is None else f"MIG-{gpu.uuid[4:-4]}{h.gi:02d}{h.ci:02d}"

    def nvmlDeviceGetName(self, h: FakeHandle) -> str:
        gpu = self._gpu(h, "nvmlDeviceGetName")
        if h.gi is None:
            return gpu.board.model
        instance = self._mig(gpu, h)
        prefix = "1c." if instance.compute_instances > 1 else ""
        return f"{gpu.board.model} MIG {prefix}{instance.profile}"

    # -- gauges -----------------------------------------------------------------------------------------

    def nvmlDeviceGetMemoryInfo(self, h: FakeHandle, version: int | None = None) -> Any:
        gpu = self._gpu(h, "nvmlDeviceGetMemoryInfo")
        if h.gi is not None:
            instance = self._mig(gpu, h)
            total, used = instance.mem_total, instance.mem_used
        elif gpu.mig is not None:  # a MIG-enabled GPU reports what its instances use
            total, used = gpu.board.mem_total, sum(m.mem_used for m in gpu.mig)
        else:
            total, used = gpu.board.mem_total, gpu.mem_used
        if version:
            reserved = 512 << 20
            return E.c_nvmlMemory_v2_t(version, total, reserved, total - reserved - used, used)
        return E.c_nvmlMemory_t(total=total, free=total - used, used=used)

    def nvmlDeviceGetUtilizationRates(self, h: FakeHandle) -> Any:
        gpu = self._whole(h, "nvmlDeviceGetUtilizationRates")
        if gpu.mig is not None:  # NVML has no utilisation for a MIG-enabled GPU or its instances
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        return E.c_nvmlUtilization_t(gpu=round(gpu.util * 100), memory=round(gpu.mem_util * 100))

    def nvmlDeviceGetTemperatureV(self, h: FakeHandle, sensor: int) -> int:
        return self._whole(h, "nvmlDeviceGetTemperatureV").temp_c

    def nvmlDeviceGetTemperature(self, h: FakeHandle, sensor: int) -> int:
        return self._whole(h, "nvmlDeviceGetTemperature").temp_c

    def nvmlDeviceGetClockInfo(self, h: FakeHandle, clock: int) -> int:
        gpu = self._whole(h, "nvmlDeviceGetClockInfo")
        return gpu.board.mem_clock_mhz if clock == E.NVML_CLOCK_MEM else gpu.sm_mhz

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: FakeHandle) -> int:
        return self._whole(h, "nvmlDeviceGetCurrentClocksEventReasons").throttle

    def nvmlDeviceGetPerformanceState(self, h: FakeHandle) -> int:
        return self._whole(h, "nvmlDeviceGetPerformanceState").pstate

    def nvmlDeviceGetPowerUsage(self, h: FakeHandle) -> int:
        return self._whole(h, "nvmlDeviceGetPowerUsage").power()

    def nvmlDeviceGetPcieThroughput(self, h: FakeHandle, counter: int) -> int:
        gpu = self._whole(h, "nvmlDeviceGetPcieThroughput")
        rate = gpu.pcie_tx_bps if counter == E.NVML_PCIE_UTIL_TX_BYTES else gpu.pcie_rx_bps
        return round(rate / 1024)  # KB/s over NVML's 20 ms window

    def nvmlDeviceGetFieldValues(self, h: FakeHandle, field_ids: list[int | tuple[int, int]]) -> Any:
        gpu = self._whole(h, "nvmlDeviceGetFieldValues")
        now_us = round(self.now() * 1e6)
        entries: list[tuple[int, int, int, int, int, int, int | None]] = []
        for request in field_ids:
            fid, scope = request if isinstance(request, tuple) else (request, 0)
            if fid not in gpu.board.fields:
                entries.append((fid, scope, 0, 0, _U32, int(E.NVML_ERROR_NOT_SUPPORTED), None))
            elif fid in gpu.no_permission:
                entries.append((fid, scope, 0, 0, _U32, int(E.NVML_ERROR_NO_PERMISSION), None))
            else:
                vtype, value = self._field(gpu, fid, scope)
                entries.append((fid, scope, now_us, FIELD_LATENCY_US, vtype, int(E.NVML_SUCCESS), value))
        return encode(entries)

    def _field(self, gpu: FakeGpu, fid: int, scope: int) -> tuple[int, int]:
        values: dict[int, tuple[int, int]] = {
            E.NVML_FI_DEV_POWER_AVERAGE: (_U32, gpu.power()),
            E.NVML_FI_DEV_POWER_INSTANT: (_U32, gpu.power_instant_mw or gpu.power()),
            E.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION: (_U64, int(gpu.energy_mj)),
            E.NVML_FI_DEV_MEMORY_TEMP: (_U32, gpu.mem_temp_c),
            E.NVML_FI_DEV_POWER_CURRENT_LIMIT: (_U32, gpu.board.max_mw),
            E.NVML_FI_DEV_ECC_SBE_AGG_TOTAL: (_U64, gpu.ecc_corrected),
            E.NVML_FI_DEV_ECC_DBE_AGG_TOTAL: (_U64, gpu.ecc_uncorrected),
            E.NVML_FI_DEV_REMAPPED_COR: (_U32, gpu.remapped_correctable),
            E.NVML_FI_DEV_REMAPPED_UNC: (_U32, gpu.remapped_uncorrectable),
            E.NVML_FI_DEV_REMAPPED_PENDING: (_U32, int(gpu.remap_pending)),
            E.NVML_FI_DEV_REMAPPED_FAILURE: (_U32, int(gpu.remap_failure)),
            E.NVML_FI_DEV_PCIE_COUNT_TX_BYTES: (_U64, int(gpu.pcie_tx_bytes)),
            E.NVML_FI_DEV_PCIE_COUNT_RX_BYTES: (_U64, int(gpu.pcie_rx_bytes)),
            E.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX: (_U64, int(gpu.nvlink_tx_kib) if scope == ALL_LINKS else 0),
            E.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX: (_U64, int(gpu.nvlink_rx_kib) if scope == ALL_LINKS else 0),
            E.NVML_FI_DEV_NVLINK_LINK_COUNT: (_U32, 18),
        }
        return values[fid]

    # -- processes --------------------------------------------------------------------------------------

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeHandle) -> list[Any]:
        gpu = self._gpu(h, "nvmlDeviceGetComputeRunningProcesses")
        if h.gi is not None:
            instance = self._mig(gpu, h)
            procs = instance.processes if h.ci == 0 else []
            gi, ci = h.gi, h.ci
        else:
            procs = [p for m in gpu.mig for p in m.processes] if gpu.mig is not None else gpu.processes
            gi = ci = 0xFFFFFFFF
        return [
            E.nvmlStructToFriendlyObject(
                E.c_nvmlProcessInfo_v3_t(pid=pid, usedGpuMemory=used, gpuInstanceId=gi, computeInstanceId=ci)
            )
            for pid, used in procs
        ]

    def nvmlDeviceGetProcessUtilization(self, h: FakeHandle, last_seen_us: int) -> list[Any]:
        gpu = self._whole(h, "nvmlDeviceGetProcessUtilization")
        now_us = round(self.now() * 1e6)
        if gpu.mig is not None:
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        if not gpu.processes or now_us <= last_seen_us:
            raise E.NVMLError(E.NVML_ERROR_NOT_FOUND)
        share = round(gpu.util * 100 / len(gpu.processes))
        return [
            E.c_nvmlProcessUtilizationSample_t(pid=pid, timeStamp=now_us, smUtil=gpu.process_sm.get(pid, share))
            for pid, _used in gpu.processes
        ]

    # -- MIG --------------------------------------------------------------------------------------------

    def nvmlDeviceGetMigMode(self, h: FakeHandle) -> list[int]:
        gpu = self._whole(h, "nvmlDeviceGetMigMode")
        if not gpu.board.mig:
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        mode = E.NVML_DEVICE_MIG_ENABLE if gpu.mig is not None else E.NVML_DEVICE_MIG_DISABLE
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, h: FakeHandle) -> int:
        gpu = self._whole(h, "nvmlDeviceGetMaxMigDeviceCount")
        if not gpu.board.mig:
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: FakeHandle, index: int) -> FakeHandle:
        gpu = self._whole(h, "nvmlDeviceGetMigDeviceHandleByIndex")
        slots = [(m.gpu_instance_id, ci) for m in gpu.mig or [] for ci in range(m.compute_instances)]
        if index >= len(slots):
            raise E.NVMLError(E.NVML_ERROR_NOT_FOUND)
        gi, ci = slots[index]
        return self._handle(h.index, gi, ci)

    def nvmlDeviceGetGpuInstanceId(self, h: FakeHandle) -> int:
        self._gpu(h, "nvmlDeviceGetGpuInstanceId")
        if h.gi is None:
            raise E.NVMLError(E.NVML_ERROR_INVALID_ARGUMENT)
        return h.gi

    def nvmlDeviceGetComputeInstanceId(self, h: FakeHandle) -> int:
        self._gpu(h, "nvmlDeviceGetComputeInstanceId")
        if h.ci is None:
            raise E.NVMLError(E.NVML_ERROR_INVALID_ARGUMENT)
        return h.ci

    # -- GPM --------------------------------------------------------------------------------------------

    def nvmlGpmQueryDeviceSupport(self, h: FakeHandle) -> Any:
        gpu = self._whole(h, "nvmlGpmQueryDeviceSupport")
        answer = E.c_nvmlGpmSupport_t()
        answer.version = E.NVML_GPM_SUPPORT_VERSION
        answer.isSupportedDevice = int(gpu.board.gpm)
        return answer

    def nvmlGpmSampleAlloc(self) -> Any:
        self._ready("nvmlGpmSampleAlloc")
        buffer = ctypes.create_string_buffer(16)
        sample = ctypes.cast(buffer, E.c_nvmlGpmSample_t)
        self._gpm_buffers[handle_key(sample)] = buffer
        return sample

    def nvmlGpmSampleFree(self, sample: Any) -> None:
        self.calls["nvmlGpmSampleFree"] += 1
        self._gpm_buffers.pop(handle_key(sample), None)
        self._gpm_snapshots.pop(handle_key(sample), None)

    def nvmlGpmSampleGet(self, h: FakeHandle, sample: Any) -> Any:
        gpu = self._whole(h, "nvmlGpmSampleGet")
        if not gpu.board.gpm:
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        busy = gpu.busy_s
        traffic = (gpu.pcie_tx_bytes, gpu.pcie_rx_bytes, gpu.nvlink_tx_kib * 1024, gpu.nvlink_rx_kib * 1024)
        self._gpm_snapshots[handle_key(sample)] = (self.now(), busy, busy * 0.9, busy * 0.6, gpu.dram_busy_s, *traffic)
        return sample

    def nvmlGpmMigSampleGet(self, h: FakeHandle, gpu_instance_id: int, sample: Any) -> Any:
        gpu = self._whole(h, "nvmlGpmMigSampleGet")
        instance = self._mig(gpu, FakeHandle(h.index, h.generation, gpu_instance_id, 0))
        busy = instance.busy_s
        self._gpm_snapshots[handle_key(sample)] = (self.now(), busy, busy * 0.9, busy * 0.6, busy * 0.5, 0, 0, 0, 0)
        return sample

    def nvmlGpmMetricsGet(self, request: Any) -> Any:
        self._ready("nvmlGpmMetricsGet")
        first = self._gpm_snapshots.get(handle_key(request.sample1))
        second = self._gpm_snapshots.get(handle_key(request.sample2))
        if first is None or second is None or second[0] <= first[0]:
            raise E.NVMLError(E.NVML_ERROR_INVALID_ARGUMENT)
        dt = second[0] - first[0]
        slot = {
            E.NVML_GPM_METRIC_GRAPHICS_UTIL: (1, 100.0),
            E.NVML_GPM_METRIC_SM_UTIL: (2, 100.0),
            E.NVML_GPM_METRIC_ANY_TENSOR_UTIL: (3, 100.0),
            E.NVML_GPM_METRIC_DRAM_BW_UTIL: (4, 100.0),
            E.NVML_GPM_METRIC_PCIE_TX_PER_SEC: (5, 1 / _MIB),
            E.NVML_GPM_METRIC_PCIE_RX_PER_SEC: (6, 1 / _MIB),
            E.NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC: (7, 1 / _MIB),
            E.NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC: (8, 1 / _MIB),
        }
        for i in range(request.numMetrics):
            metric = request.metrics[i]
            position, scale = slot.get(metric.metricId, (0, 0.0))
            metric.nvmlReturn = E.NVML_SUCCESS if position else E.NVML_ERROR_NOT_SUPPORTED
            metric.value = (second[position] - first[position]) / dt * scale if position else 0.0
        return request

    # -- events -----------------------------------------------------------------------------------------

    def nvmlEventSetCreate(self) -> FakeEventSet:
        self._ready("nvmlEventSetCreate")
        es = FakeEventSet()
        self.event_sets.append(es)
        return es

    def nvmlDeviceGetSupportedEventTypes(self, h: FakeHandle) -> int:
        return self._whole(h, "nvmlDeviceGetSupportedEventTypes").board.events

    def nvmlDeviceRegisterEvents(self, h: FakeHandle, event_types: int, es: FakeEventSet) -> None:
        gpu = self._whole(h, "nvmlDeviceRegisterEvents")
        if event_types & ~gpu.board.events:
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        es.masks[h.index] = es.masks.get(h.index, 0) | event_types

    def nvmlEventSetWait(self, es: FakeEventSet, timeout_ms: int) -> FakeEventData:
        self._ready("nvmlEventSetWait")
        try:
            return es.queue.get(timeout=timeout_ms / 1000)
        except queue.Empty:
            raise E.NVMLError(E.NVML_ERROR_TIMEOUT) from None

    def nvmlEventSetFree(self, es: FakeEventSet) -> None:
        self.calls["nvmlEventSetFree"] += 1
        if es in self.event_sets:
            self.event_sets.remove(es)

    # -- helpers ----------------------------------------------------------------------------------------

    def _handle(self, index: int, gi: int | None = None, ci: int | None = None) -> FakeHandle:
        """Handles are stable objects within a session, as NVML's pointers are."""
        key = (index, self.generation, gi, ci)
        handle = self._handles.get(key)
        if handle is None:
            handle = self._handles[key] = FakeHandle(index, self.generation, gi, ci)
        return handle

    def _ready(self, name: str) -> None:
        self.calls[name] += 1
        if self.mismatch:
            raise E.NVMLError(E.NVML_ERROR_LIB_RM_VERSION_MISMATCH)
        if not self.initialised:
            raise E.NVMLError(E.NVML_ERROR_UNINITIALIZED)

    def _sync(self) -> None:
        now = self.now()
        for gpu in self.gpus:
            gpu.advance(self._synced, now)
        self._synced = max(self._synced, now)

    def _gpu(self, h: FakeHandle, name: str) -> FakeGpu:
        self._ready(name)
        if h.generation != self.generation:
            raise E.NVMLError(E.NVML_ERROR_UNINITIALIZED)
        if self._clock is not None:
            self._sync()
        gpu = self.gpus[h.index]
        self._check(gpu)
        return gpu

    def _whole(self, h: FakeHandle, name: str) -> FakeGpu:
        """A call NVML answers for whole GPUs only: NOT_SUPPORTED on a MIG device handle."""
        gpu = self._gpu(h, name)
        if h.gi is not None:
            raise E.NVMLError(E.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    @staticmethod
    def _check(gpu: FakeGpu) -> None:
        if gpu.lost:
            raise E.NVMLError(E.NVML_ERROR_GPU_IS_LOST)
        if gpu.reset_required:
            raise E.NVMLError(E.NVML_ERROR_RESET_REQUIRED)

    @staticmethod
    def _mig(gpu: FakeGpu, h: FakeHandle) -> FakeMig:
        for instance in gpu.mig or []:
            if instance.gpu_instance_id == h.gi:
                return instance
        raise E.NVMLError(E.NVML_ERROR_NOT_FOUND)


def uuid_for(node_no: int, index: int) -> str:
    """A UUID shaped like NVML's (``GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``), stable per node and index."""
    return f"GPU-{node_no:08x}-a16d-4c3e-9f2b-{index:012x}"


def demo_node(node_no: int = 0, clock: Callable[[], float] = time.time) -> FakeNvml:
    """An 8×H100 node for ``--backend fake``: six busy GPUs (loads on slow waves, one process each), one
    MIG-enabled GPU with three instances, one idle GPU. Driven by the wall clock."""
    gpus = []
    for index in range(8):
        # The energy counter of a GPU whose driver was loaded some days ago.
        gpu = FakeGpu(uuid_for(node_no, index), H100_SXM, temp_c=33, energy_mj=1.9e11 + index * 7.3e9)
        if index < 6:
            gpu.wave_s, gpu.phase = 600.0 + 60 * index, index * 0.9
            gpu.processes = [(40000 + index, 60 << 30)]
            gpu.mem_used = 61 << 30
            gpu.pcie_tx_bps, gpu.pcie_rx_bps = 2.5e9, 6.0e9
            gpu.nvlink_tx_bps = gpu.nvlink_rx_bps = 120e9
        elif index == 6:
            gpu.mig = [
                FakeMig(1, "3g.40gb", 40192 << 20, 20 << 30, processes=[(41001, 20 << 30)], util=0.7),
                FakeMig(
                    2, "2g.20gb", 19968 << 20, 8 << 30, compute_instances=2, processes=[(41002, 8 << 30)], util=0.4
                ),
                FakeMig(5, "1g.10gb", 9856 << 20),
            ]
        gpus.append(gpu)
    return FakeNvml(gpus, clock=clock)

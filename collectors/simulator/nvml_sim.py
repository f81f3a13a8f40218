"""A simulated NVML library for one node: the functions of ``pynvml`` the agent calls, served from GpuSeries.

It behaves like the real library where the agent depends on it: values in NVML's units (mW, mJ, MHz, %),
real ``pynvml`` structs (``c_nvmlFieldValue_t`` with a return code per field), ``NVMLError`` subclasses for
failures (NOT_SUPPORTED for fields a board does not have, GPU_IS_LOST while a GPU is off the bus, NOT_FOUND
when there are no new process samples). The simulator moves its clock with :meth:`at_tick`.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from typing import Any

import pynvml

from collectors.simulator.gpu_model import GpuSeries

DRIVER_VERSION = "580.95.05"
_SIZE = ctypes.sizeof(pynvml.c_nvmlFieldValue_t)
_TS_AT = pynvml.c_nvmlFieldValue_t.timestamp.offset
_VALUE_AT = pynvml.c_nvmlFieldValue_t.value.offset
_I64, _U64, _U32 = struct.Struct("=q"), struct.Struct("=Q"), struct.Struct("=I")
_SUPPORTED_FIELDS = {
    pynvml.NVML_FI_DEV_POWER_AVERAGE,
    pynvml.NVML_FI_DEV_POWER_INSTANT,
    pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION,
    pynvml.NVML_FI_DEV_MEMORY_TEMP,
    pynvml.NVML_FI_DEV_POWER_CURRENT_LIMIT,
    pynvml.NVML_FI_DEV_ECC_SBE_AGG_TOTAL,
    pynvml.NVML_FI_DEV_ECC_DBE_AGG_TOTAL,
    pynvml.NVML_FI_DEV_REMAPPED_COR,
    pynvml.NVML_FI_DEV_REMAPPED_UNC,
    pynvml.NVML_FI_DEV_REMAPPED_PENDING,
    pynvml.NVML_FI_DEV_REMAPPED_FAILURE,
}


@dataclass(frozen=True)
class _Handle:
    row: int
    index: int


class SimulatedNvml:
    """The NVML functions for the GPUs of one node of a simulated site."""

    def __init__(self, series: GpuSeries, node: str) -> None:
        self.series = series
        self.rows = [i for i, g in enumerate(series.gpus) if g.node == node]
        self.tick = 0
        self.initialised = False
        self._buffers: dict[tuple[int, tuple[int | tuple[int, int], ...]], tuple[Any, list[tuple[int, int]]]] = {}

    def at_tick(self, tick: int) -> None:
        self.tick = tick

    # -- lifecycle and inventory -------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:
        return DRIVER_VERSION

    def nvmlDeviceGetCount(self) -> int:
        self._ready()
        return len(self.rows)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._ready()
        if not 0 <= index < len(self.rows):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(self.rows[index], index)

    def nvmlDeviceGetUUID(self, h: _Handle) -> str:
        self._alive(h)
        return self.series.gpus[h.row].uuid

    def nvmlDeviceGetName(self, h: _Handle) -> str:
        self._alive(h)
        return self.series.gpus[h.row].model

    # -- readings ------------------------------------------------------------------------------------------

    def nvmlDeviceGetMemoryInfo(self, h: _Handle, version: Any = None) -> Any:
        self._alive(h)
        total = self.series.site.spec.gpu_mem_bytes
        used = int(self.series.mem_used[h.row, self.tick])
        return pynvml.c_nvmlMemory_t(total=total, free=total - used, used=used)

    def nvmlDeviceGetUtilizationRates(self, h: _Handle) -> Any:
        self._alive(h)
        u = float(self.series.util[h.row, self.tick])
        return pynvml.c_nvmlUtilization_t(gpu=round(u * 100), memory=round(u * 62))

    def nvmlDeviceGetTemperature(self, h: _Handle, sensor: int) -> int:
        self._alive(h)
        return int(self.series.temp_c[h.row, self.tick])

    def nvmlDeviceGetClockInfo(self, h: _Handle, clock: int) -> int:
        self._alive(h)
        if clock == pynvml.NVML_CLOCK_MEM:
            return 2619
        return int(self.series.sm_mhz[h.row, self.tick])

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: _Handle) -> int:
        self._alive(h)
        return int(self.series.throttle[h.row, self.tick])

    def nvmlDeviceGetPerformanceState(self, h: _Handle) -> int:
        self._alive(h)
        return 0 if self.series.util[h.row, self.tick] > 0 else 8

    def nvmlDeviceGetFieldValues(self, h: _Handle, field_ids: list[int | tuple[int, int]]) -> Any:
        self._alive(h)
        s, r, t = self.series, h.row, self.tick
        values, live = self._field_buffer(h.row, tuple(field_ids))
        now_us = int(s.ticks[t]) * 1_000_000
        energy = int(s.energy_mj[r, t])
        power = round(s.power_w[r, t] * 1000)
        mem_temp = int(s.temp_c[r, t]) + 4
        # Only timestamps and the live values change per call; written straight into the structs' bytes
        # (pynvml's attribute setters cost more than the rest of the simulated call).
        for base, fid in live:
            _I64.pack_into(values, base + _TS_AT, now_us)
            if fid == pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION:
                _U64.pack_into(values, base + _VALUE_AT, energy)
            elif fid in (pynvml.NVML_FI_DEV_POWER_AVERAGE, pynvml.NVML_FI_DEV_POWER_INSTANT):
                _U32.pack_into(values, base + _VALUE_AT, power)
            elif fid == pynvml.NVML_FI_DEV_MEMORY_TEMP:
                _U32.pack_into(values, base + _VALUE_AT, mem_temp)
        return values

    def _field_buffer(
        self, row: int, field_ids: tuple[int | tuple[int, int], ...]
    ) -> tuple[Any, list[tuple[int, int]]]:
        """The field-value array for a device, built once, and the (byte offset, field id) of its supported
        entries; per call only values and timestamps change.

        A request is a field id or, as ``pynvml`` accepts, a (field id, scope id) pair.
        """
        key = (row, field_ids)
        cached = self._buffers.get(key)
        if cached is not None:
            return cached
        values = (pynvml.c_nvmlFieldValue_t * len(field_ids))()
        live: list[tuple[int, int]] = []
        for i, (fv, request) in enumerate(zip(values, field_ids, strict=True)):
            fid, scope = request if isinstance(request, tuple) else (request, 0)
            fv.fieldId = fid
            fv.scopeId = scope
            if fid not in _SUPPORTED_FIELDS:
                fv.nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
                continue
            fv.nvmlReturn = pynvml.NVML_SUCCESS
            live.append((i * _SIZE, fid))
            if fid == pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION:
                fv.valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
            else:
                fv.valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
                if fid == pynvml.NVML_FI_DEV_POWER_CURRENT_LIMIT:
                    fv.value.uiVal = int(self.series.site.spec.gpu_max_w * 1000)
        self._buffers[key] = (values, live)
        return values, live

    def nvmlDeviceGetComputeRunningProcesses(self, h: _Handle) -> list[Any]:
        self._alive(h)
        job_idx = int(self.series.holder[h.row, self.tick])
        if job_idx < 0:
            return []
        info = pynvml.c_nvmlProcessInfo_v3_t(
            pid=self._pid(h, job_idx),
            usedGpuMemory=int(self.series.mem_used[h.row, self.tick]),
            gpuInstanceId=0xFFFFFFFF,
        )
        return [pynvml.nvmlStructToFriendlyObject(info)]

    def nvmlDeviceGetProcessUtilization(self, h: _Handle, last_seen_us: int) -> list[Any]:
        self._alive(h)
        job_idx = int(self.series.holder[h.row, self.tick])
        now_us = int(self.series.ticks[self.tick]) * 1_000_000
        if job_idx < 0 or now_us <= last_seen_us:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        sample = pynvml.c_nvmlProcessUtilizationSample_t(
            pid=self._pid(h, job_idx),
            timeStamp=now_us,
            smUtil=round(float(self.series.util[h.row, self.tick]) * 100),
            memUtil=round(float(self.series.util[h.row, self.tick]) * 62),
        )
        return [sample]

    def __getattr__(self, name: str) -> Any:
        """Any other NVML function exists but is not supported on these simulated boards."""
        if name.startswith("nvml"):

            def unsupported(*_args: Any, **_kwargs: Any) -> Any:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

            return unsupported
        raise AttributeError(name)

    # -- helpers -----------------------------------------------------------------------------------------

    def pid_of(self, row: int, job_idx: int) -> int:
        job = self.series.jobs[job_idx]
        position = [g.uuid for g in job.gpus].index(self.series.gpus[row].uuid)
        return job.first_pid + position

    def _pid(self, h: _Handle, job_idx: int) -> int:
        return self.pid_of(h.row, job_idx)

    def _ready(self) -> None:
        if not self.initialised:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)

    def _alive(self, h: _Handle) -> None:
        self._ready()
        if self.series.lost[h.row, self.tick]:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)

"""Sample every GPU of a node through NVML: one row per GPU per sample, errors classified, never fatal.

Reads are batched where NVML allows (``nvmlDeviceGetFieldValues`` returns power, energy, limits, ECC and
row-remap values in one call with a return code per field). Errors follow NVML's own classes:

- per field, routine (NOT_SUPPORTED, NO_PERMISSION, NOT_FOUND …): that value is left null, quietly;
- per device, serious (GPU_IS_LOST, RESET_REQUIRED …): the GPU is reported as a health event, skipped for
  this sample and retried on the next one (its handle is re-acquired);
- anything else on one device is reported and the other GPUs are still sampled.

The ``nvml`` object is injected: the ``pynvml`` module in production, a fake with the same functions in tests
and in the simulator.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import polars as pl
import pynvml

from collectors.gpu.nvml.procmap import ProcessMapper
from collectors.schemas import GPU_HEALTH, GPU_SAMPLE

T = TypeVar("T")


def _code(name: str) -> int | None:
    value = getattr(pynvml, name, None)
    return int(value) if isinstance(value, int) else None


#: Errors that mean "this value is not available here": skipped without noise.
ROUTINE_ERRORS = {
    c
    for c in map(
        _code,
        (
            "NVML_ERROR_NOT_SUPPORTED",
            "NVML_ERROR_NO_PERMISSION",
            "NVML_ERROR_NOT_FOUND",
            "NVML_ERROR_INSUFFICIENT_SIZE",
            "NVML_ERROR_NO_DATA",
            "NVML_ERROR_NOT_READY",
            "NVML_ERROR_FUNCTION_NOT_FOUND",
            "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
            "NVML_ERROR_DEPRECATED",
            "NVML_ERROR_TIMEOUT",
        ),
    )
    if c is not None
}
#: Errors that mean "this GPU is in trouble": a health event, and the device is retried next time.
DEVICE_ERRORS = {
    _code("NVML_ERROR_GPU_IS_LOST"): ("gpu_lost", "critical"),
    _code("NVML_ERROR_RESET_REQUIRED"): ("reset_required", "critical"),
    _code("NVML_ERROR_GPU_NOT_FOUND"): ("gpu_not_found", "critical"),
    _code("NVML_ERROR_INVALID_STATE"): ("invalid_state", "critical"),
    _code("NVML_ERROR_CORRUPTED_INFOROM"): ("corrupted_inforom", "warning"),
    _code("NVML_ERROR_MEMORY"): ("nvml_memory_error", "warning"),
    _code("NVML_ERROR_IRQ_ISSUE"): ("irq_issue", "warning"),
    _code("NVML_ERROR_UNKNOWN"): ("nvml_unknown_error", "warning"),
}

#: Batched field reads: (column, NVML field id, scale to the column's unit).
FIELDS: tuple[tuple[str, int, float], ...] = (
    ("power_w", pynvml.NVML_FI_DEV_POWER_AVERAGE, 1e-3),  # mW
    ("power_instant_w", pynvml.NVML_FI_DEV_POWER_INSTANT, 1e-3),  # mW
    ("energy_counter_j", pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, 1e-3),  # mJ since driver load
    ("mem_temp_c", pynvml.NVML_FI_DEV_MEMORY_TEMP, 1.0),
    ("power_limit_w", pynvml.NVML_FI_DEV_POWER_CURRENT_LIMIT, 1e-3),  # mW
    ("ecc_corrected_total", pynvml.NVML_FI_DEV_ECC_SBE_AGG_TOTAL, 1.0),
    ("ecc_uncorrected_total", pynvml.NVML_FI_DEV_ECC_DBE_AGG_TOTAL, 1.0),
    ("remapped_rows_correctable", pynvml.NVML_FI_DEV_REMAPPED_COR, 1.0),
    ("remapped_rows_uncorrectable", pynvml.NVML_FI_DEV_REMAPPED_UNC, 1.0),
    ("remap_pending", pynvml.NVML_FI_DEV_REMAPPED_PENDING, 1.0),
    ("remap_failed", pynvml.NVML_FI_DEV_REMAPPED_FAILURE, 1.0),
)
_INT_COLUMNS = {
    "ecc_corrected_total",
    "ecc_uncorrected_total",
    "remapped_rows_correctable",
    "remapped_rows_uncorrectable",
}
_BOOL_COLUMNS = {"remap_pending", "remap_failed"}


class DeviceError(Exception):
    """A device-level NVML failure (the GPU is lost, needs a reset …)."""

    def __init__(self, code: int, event: str, severity: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.event = event
        self.severity = severity


@dataclass
class Device:
    index: int
    handle: Any
    uuid: str
    model: str | None
    mem_total: int | None
    last_process_ts_us: int = 0
    available: bool = True


@dataclass
class Sample:
    """What one pass over the node produced: GPU rows and health events, as landing-shaped frames."""

    gpus: pl.DataFrame
    health: pl.DataFrame


@dataclass
class NvmlAgent:
    """Samples one node's GPUs; ``open()`` once, ``sample(ts)`` per interval, ``close()`` at the end."""

    nvml: Any
    site: str
    node: str
    interval_s: float
    producer: str = ""
    processes: ProcessMapper | None = None
    devices: list[Device] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.producer:
            self.producer = f"nvml-agent@{self.node}"

    def open(self) -> None:
        """Initialise NVML and enumerate the GPUs; errors here mean no driver and are the caller's to report."""
        self.nvml.nvmlInit()
        count = int(self.nvml.nvmlDeviceGetCount())
        self.devices = []
        for index in range(count):
            handle = self.nvml.nvmlDeviceGetHandleByIndex(index)
            uuid = _text(self.nvml.nvmlDeviceGetUUID(handle))
            model = self._routine(partial(_name_of, self.nvml, handle))
            mem = self._routine(partial(self.nvml.nvmlDeviceGetMemoryInfo, handle))
            self.devices.append(Device(index, handle, uuid, model, int(mem.total) if mem is not None else None))

    def close(self) -> None:
        with contextlib.suppress(pynvml.NVMLError):
            self.nvml.nvmlShutdown()

    def sample(self, ts: dt.datetime) -> Sample:
        """One pass over the node as landing-shaped frames."""
        rows, events = self.sample_rows(ts)
        gpus = pl.from_dicts(rows, schema=GPU_SAMPLE.polars_schema) if rows else GPU_SAMPLE.empty()
        health = pl.from_dicts(events, schema=GPU_HEALTH.polars_schema) if events else GPU_HEALTH.empty()
        return Sample(gpus, health)

    def sample_rows(self, ts: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One pass over the node as row dicts (cheaper when many samples are batched into one frame)."""
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        live_pids: set[int] = set()
        for dev in self.devices:
            try:
                if not dev.available:
                    self._reacquire(dev)
                row, pids = self._read(dev, ts)
            except DeviceError as exc:
                if dev.available:
                    events.append(self._event(ts, dev, exc.event, exc.code, exc.severity, str(exc)))
                dev.available = False
                continue
            except pynvml.NVMLError as exc:
                code = _err_code(exc)
                events.append(self._event(ts, dev, "read_error", code, "warning", f"NVML {error_name(code)}"))
                continue
            if not dev.available:
                events.append(self._event(ts, dev, "gpu_recovered", None, "info", "GPU answers again"))
                dev.available = True
            rows.append(row)
            live_pids |= pids
        if self.processes is not None:
            self.processes.forget_except(live_pids)
        return rows, events

    # -- one device -------------------------------------------------------------------------------------

    def _read(self, dev: Device, ts: dt.datetime) -> tuple[dict[str, Any], set[int]]:
        nv, h = self.nvml, dev.handle
        row: dict[str, Any] = {
            "ts": ts,
            "interval_s": float(self.interval_s),
            "site": self.site,
            "node": self.node,
            "gpu_index": dev.index,
            "gpu_uuid": dev.uuid,
            "model": dev.model,
            "mem_total_bytes": dev.mem_total,
            "source": "nvml",
            "producer": self.producer,
        }
        row.update(self._fields(dev))
        util = self._guard(lambda: nv.nvmlDeviceGetUtilizationRates(h))
        if util is not None:
            row["util_ratio"] = util.gpu / 100.0
            row["mem_util_ratio"] = util.memory / 100.0
        mem = self._guard(lambda: nv.nvmlDeviceGetMemoryInfo(h))
        if mem is not None:
            row["mem_used_bytes"] = int(mem.used)
            row["mem_total_bytes"] = int(mem.total)
        row["temp_c"] = self._guard(lambda: float(nv.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)))
        sm = self._guard(lambda: nv.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM))
        row["sm_clock_hz"] = None if sm is None else float(sm) * 1e6
        memclk = self._guard(lambda: nv.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM))
        row["mem_clock_hz"] = None if memclk is None else float(memclk) * 1e6
        row["throttle_reasons"] = self._guard(lambda: int(nv.nvmlDeviceGetCurrentClocksEventReasons(h)))
        row["pstate"] = self._guard(lambda: int(nv.nvmlDeviceGetPerformanceState(h)))
        holders, pids = self._holders(dev)
        row["holders"] = holders
        return row, pids

    def _fields(self, dev: Device) -> dict[str, Any]:
        values = self._guard(lambda: self.nvml.nvmlDeviceGetFieldValues(dev.handle, [f[1] for f in FIELDS]))
        out: dict[str, Any] = {}
        if values is None:
            return out
        for (column, _fid, scale), fv in zip(FIELDS, values, strict=False):
            ret = int(fv.nvmlReturn)
            if ret != pynvml.NVML_SUCCESS:
                if ret in DEVICE_ERRORS:
                    raise _device_error(ret)
                continue
            raw = _field_value(fv)
            if raw is None:
                continue
            if column in _BOOL_COLUMNS:
                out[column] = bool(raw)
            elif column in _INT_COLUMNS:
                out[column] = int(raw)
            else:
                out[column] = float(raw) * scale
        return out

    def _holders(self, dev: Device) -> tuple[list[dict[str, Any]], set[int]]:
        procs = self._guard(lambda: self.nvml.nvmlDeviceGetComputeRunningProcesses(dev.handle)) or []
        if not procs:
            return [], set()
        util_by_pid: dict[int, float] = {}
        samples = self._guard(lambda: self.nvml.nvmlDeviceGetProcessUtilization(dev.handle, dev.last_process_ts_us))
        for s in samples or []:
            util_by_pid[int(s.pid)] = float(s.smUtil) / 100.0
            dev.last_process_ts_us = max(dev.last_process_ts_us, int(s.timeStamp))
        holders = []
        pids = set()
        for p in procs:
            pid = int(p.pid)
            pids.add(pid)
            owner = self.processes.owner(pid) if self.processes else None
            used = getattr(p, "usedGpuMemory", None)
            holders.append(
                {
                    "namespace": owner.namespace if owner else None,
                    "pod": owner.pod if owner else None,
                    "container": owner.container if owner else None,
                    "pod_uid": owner.pod_uid if owner else None,
                    "hpc_job": owner.hpc_job if owner else None,
                    "pid": pid,
                    "util_ratio": util_by_pid.get(pid),
                    "mem_used_bytes": int(used) if used is not None else None,
                }
            )
        return holders, pids

    # -- errors -----------------------------------------------------------------------------------------

    def _guard(self, call: Callable[[], T]) -> T | None:
        """Run one NVML read: routine errors give None, device errors raise DeviceError."""
        try:
            return call()
        except pynvml.NVMLError as exc:
            code = _err_code(exc)
            if code in DEVICE_ERRORS:
                raise _device_error(code) from exc
            if code in ROUTINE_ERRORS:
                return None
            raise

    def _routine(self, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except pynvml.NVMLError as exc:
            if _err_code(exc) in ROUTINE_ERRORS:
                return None
            raise

    def _reacquire(self, dev: Device) -> None:
        """A lost GPU may come back (after a reset) with a new handle: look it up again by index and UUID."""
        try:
            handle = self.nvml.nvmlDeviceGetHandleByIndex(dev.index)
            uuid = _text(self.nvml.nvmlDeviceGetUUID(handle))
        except pynvml.NVMLError as exc:
            code = _err_code(exc)
            event, severity = DEVICE_ERRORS.get(code, ("read_error", "warning"))
            raise DeviceError(code, event, severity, f"NVML {error_name(code)}") from exc
        if uuid == dev.uuid:
            dev.handle = handle

    def _event(
        self, ts: dt.datetime, dev: Device, event: str, code: int | None, severity: str, message: str
    ) -> dict[str, Any]:
        return {
            "ts": ts,
            "site": self.site,
            "node": self.node,
            "gpu_uuid": dev.uuid,
            "event": event,
            "code": code,
            "severity": severity,
            "message": message,
            "source": "nvml",
            "producer": self.producer,
        }


def _device_error(code: int) -> DeviceError:
    event, severity = DEVICE_ERRORS[code]
    return DeviceError(code, event, severity, f"NVML {error_name(code)}")


def error_name(code: int) -> str:
    """``NVML_ERROR_GPU_IS_LOST`` for 15, without calling into the driver (which may be the thing that failed)."""
    for name in dir(pynvml):
        if name.startswith("NVML_ERROR_") and getattr(pynvml, name) == code:
            return name
    return f"error {code}"


def _err_code(exc: pynvml.NVMLError) -> int:
    return int(getattr(exc, "value", -1))


def _field_value(fv: Any) -> float | int | None:
    vt = int(fv.valueType)
    v = fv.value
    if vt == pynvml.NVML_VALUE_TYPE_DOUBLE:
        return float(v.dVal)
    if vt == pynvml.NVML_VALUE_TYPE_UNSIGNED_INT:
        return int(v.uiVal)
    if vt == pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG:
        return int(v.ulVal)
    if vt == pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return int(v.ullVal)
    if vt == pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return int(v.sllVal)
    if vt == getattr(pynvml, "NVML_VALUE_TYPE_SIGNED_INT", -99):
        return int(v.siVal)
    return None


def _name_of(nvml: Any, handle: Any) -> str:
    return _text(nvml.nvmlDeviceGetName(handle))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

"""Reading one GPU (and its MIG instances) into landing rows.

Per GPU and sample: one batched field-value read (power, energy, limits, ECC, row remapping, PCIe and NVLink
counters), then the getters NVML has no field for (utilisation, memory, temperature, clocks, clocks-event
reasons, P-state, processes), then GPM when the board has it. Each value lands in its canonical unit (W, J,
bytes, Hz, ratio 0–1, bytes/s). Fields a board refuses are dropped from its batch after the first answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pynvml

from collectors.gpu.nvml import errors
from collectors.gpu.nvml.calls import Calls
from collectors.gpu.nvml.counters import CounterRates
from collectors.gpu.nvml.fieldvalues import GPU_FIELDS, FieldSpec, decode
from collectors.gpu.nvml.gpm import GpmSampler
from collectors.gpu.nvml.mig import MigInstance
from collectors.gpu.nvml.procmap import ProcessMapper

_SUCCESS = int(pynvml.NVML_SUCCESS)
_KIB = 1024.0
_PCIE_COLUMNS = ("pcie_tx_bytes_s", "pcie_rx_bytes_s")
_TEMPERATURE = ("nvmlDeviceGetTemperatureV", "nvmlDeviceGetTemperature")
_THROTTLE = ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons")


@dataclass
class Device:
    """A GPU as the agent knows it: handle, identity, and what NVML refused on it so far."""

    index: int
    handle: Any
    uuid: str
    model: str | None = None
    mem_total: int | None = None
    available: bool = True
    unsupported: set[str] = field(default_factory=set)
    plan: list[FieldSpec] = field(default_factory=lambda: list(GPU_FIELDS))
    last_process_ts_us: int = 0
    mig: list[MigInstance] | None = None
    mig_checked_s: float | None = None
    mig_stale: bool = False
    gpm: GpmSampler | None = None
    xid_last: int | None = None
    requests: list[int | tuple[int, int]] = field(init=False)
    pcie_counters: bool = field(init=False)

    def __post_init__(self) -> None:
        self.drop_fields(set())

    def drop_fields(self, dropped: set[str]) -> None:
        """Stop asking for fields this board refused for good."""
        self.plan = [spec for spec in self.plan if spec.column not in dropped]
        self.requests = [spec.request for spec in self.plan]
        self.pcie_counters = any(spec.column in _PCIE_COLUMNS for spec in self.plan)

    def close(self) -> None:
        """Free NVML-side resources (GPM sample buffers)."""
        if self.gpm is not None:
            self.gpm.close()
        for instance in self.mig or []:
            if instance.gpm is not None:
                instance.gpm.close()


class DeviceReader:
    """Turns one device into rows: whole GPU first, then one row per MIG GPU instance."""

    def __init__(
        self,
        calls: Calls,
        rates: CounterRates,
        processes: ProcessMapper | None,
        base: dict[str, Any],
        pcie_period: int,
    ) -> None:
        self.calls = calls
        self.rates = rates
        self.processes = processes
        self.base = base
        self.pcie_period = max(1, pcie_period)

    def read(self, dev: Device, ts: dt.datetime, sample_no: int) -> tuple[list[dict[str, Any]], set[int]]:
        c, u, h = self.calls, dev.unsupported, dev.handle
        row = dict(self.base)
        row.update(ts=ts, gpu_index=dev.index, gpu_uuid=dev.uuid, model=dev.model, mem_total_bytes=dev.mem_total)
        self._fields(dev, row, ts.timestamp())
        if row.get("power_w") is None:  # pre-Ampere boards without field 185
            mw = c.get(u, "nvmlDeviceGetPowerUsage", h)
            row["power_w"] = None if mw is None else mw * 1e-3
        util = c.get(u, "nvmlDeviceGetUtilizationRates", h)  # NOT_SUPPORTED on a MIG-enabled GPU
        if util is not None:
            row["util_ratio"] = util.gpu / 100.0
            row["mem_util_ratio"] = util.memory / 100.0
        self._memory(u, h, row)
        temp = c.first(u, _TEMPERATURE, h, pynvml.NVML_TEMPERATURE_GPU)
        row["temp_c"] = None if temp is None else float(temp)
        sm = c.get(u, "nvmlDeviceGetClockInfo", h, pynvml.NVML_CLOCK_SM, key="clock_sm")
        row["sm_clock_hz"] = None if sm is None else sm * 1e6
        mem_clock = c.get(u, "nvmlDeviceGetClockInfo", h, pynvml.NVML_CLOCK_MEM, key="clock_mem")
        row["mem_clock_hz"] = None if mem_clock is None else mem_clock * 1e6
        reasons = c.first(u, _THROTTLE, h)
        row["throttle_reasons"] = None if reasons is None else int(reasons)
        pstate = c.get(u, "nvmlDeviceGetPerformanceState", h)
        row["pstate"] = None if pstate is None else int(pstate)
        if dev.gpm is not None:
            self._gpm(dev.gpm, row)
        if dev.gpm is None and not dev.pcie_counters and (dev.index - sample_no) % self.pcie_period == 0:
            self._pcie_throughput(u, h, row)
        row["xid_last"], dev.xid_last = dev.xid_last, None
        if dev.mig is None:
            holders, pids = self._holders(u, h, dev, per_process_util=True)
            row["holders"] = holders
            return [row], pids
        rows = [row]
        row["holders"] = []
        pids = set()
        for instance in dev.mig:
            mig_row, mig_pids = self._mig_row(instance, row)
            rows.append(mig_row)
            row["holders"].extend(mig_row["holders"])
            pids |= mig_pids
        return rows, pids

    # -- parts of a whole-GPU row -----------------------------------------------------------------------

    def _fields(self, dev: Device, row: dict[str, Any], ts_s: float) -> None:
        if not dev.plan:
            return
        values = self.calls.get(dev.unsupported, "nvmlDeviceGetFieldValues", dev.handle, dev.requests)
        if values is None:
            return
        metrics = self.calls.metrics
        dropped: set[str] = set()
        for spec, (_fid, _scope, ts_us, latency_us, ret, value) in zip(dev.plan, decode(values), strict=False):
            if ret != _SUCCESS:
                if ret in errors.DEVICE:
                    raise errors.DeviceError(ret)
                if ret in errors.LIBRARY:
                    raise errors.NvmlUnavailableError(ret)
                if ret not in errors.QUIET:
                    metrics.error(ret)
                if ret in errors.PERMANENT:
                    dropped.add(spec.column)
                continue
            if latency_us:
                metrics.latency(spec.column, latency_us)
            if value is None:
                continue
            kind = spec.kind
            if kind == "float":
                row[spec.column] = value * spec.scale
            elif kind == "int":
                row[spec.column] = int(value)
            elif kind == "bool":
                row[spec.column] = bool(value)
            else:
                t_s = ts_us / 1e6 if ts_us > 0 else ts_s
                row[spec.column] = self.rates.rate((dev.uuid, spec.column), value * spec.scale, t_s)
        if dropped:
            dev.drop_fields(dropped)

    def _memory(self, u: set[str], h: Any, row: dict[str, Any]) -> None:
        mem = self.calls.get(u, "nvmlDeviceGetMemoryInfo", h, pynvml.nvmlMemory_v2, key="memory_v2")
        if mem is None:
            mem = self.calls.get(u, "nvmlDeviceGetMemoryInfo", h)
        if mem is not None:
            row["mem_used_bytes"] = int(mem.used)
            row["mem_total_bytes"] = int(mem.total)

    def _gpm(self, sampler: GpmSampler, row: dict[str, Any]) -> None:
        """GPM activity; its bandwidth only where the field counters gave none; on a MIG-enabled GPU (where
        NVML has no utilisation) the graphics-engine activity stands in for ``util_ratio``."""
        for column, value in sampler.read().items():
            if row.get(column) is None:
                row[column] = value
        if row.get("util_ratio") is None and row.get("gr_engine_active_ratio") is not None:
            row["util_ratio"] = row["gr_engine_active_ratio"]

    def _pcie_throughput(self, u: set[str], h: Any, row: dict[str, Any]) -> None:
        """The blocking getter (20 ms per direction), on boards without PCIe counters or GPM: each GPU only
        every ``pcie_period`` samples, GPUs in turn, so no sample pays for the whole node at once."""
        tx = self.calls.get(u, "nvmlDeviceGetPcieThroughput", h, pynvml.NVML_PCIE_UTIL_TX_BYTES)
        if tx is None:
            return
        rx = self.calls.get(u, "nvmlDeviceGetPcieThroughput", h, pynvml.NVML_PCIE_UTIL_RX_BYTES)
        row["pcie_tx_bytes_s"] = tx * _KIB  # KB/s
        row["pcie_rx_bytes_s"] = None if rx is None else rx * _KIB

    # -- MIG and processes ------------------------------------------------------------------------------

    def _mig_row(self, instance: MigInstance, parent: dict[str, Any]) -> tuple[dict[str, Any], set[int]]:
        row = dict(self.base)
        row.update(
            ts=parent["ts"],
            gpu_index=parent["gpu_index"],
            gpu_uuid=parent["gpu_uuid"],
            gpu_instance_id=instance.gpu_instance_id,
            mig_profile=instance.profile,
            model=parent["model"],
            mem_total_bytes=instance.mem_total,
        )
        self._memory(instance.unsupported, instance.handles[0], row)
        if instance.gpm is not None:
            activity = instance.gpm.read()
            row.update(activity)
            row["util_ratio"] = activity.get("gr_engine_active_ratio")
        holders: list[dict[str, Any]] = []
        pids: set[int] = set()
        for handle in instance.handles:
            got, got_pids = self._holders(instance.unsupported, handle, instance, per_process_util=False)
            holders.extend(got)
            pids |= got_pids
        row["holders"] = holders
        return row, pids

    def _holders(
        self, u: set[str], h: Any, owner: Device | MigInstance, per_process_util: bool
    ) -> tuple[list[dict[str, Any]], set[int]]:
        """Processes on the device with their memory, SM share (not on MIG) and owner (pod or Slurm job)."""
        procs = self.calls.get(u, "nvmlDeviceGetComputeRunningProcesses", h)
        if not procs:
            return [], set()
        util_by_pid: dict[int, float] = {}
        if per_process_util:
            samples = self.calls.get(u, "nvmlDeviceGetProcessUtilization", h, owner.last_process_ts_us)
            for s in samples or []:
                util_by_pid[int(s.pid)] = s.smUtil / 100.0
                owner.last_process_ts_us = max(owner.last_process_ts_us, int(s.timeStamp))
        holders = []
        pids = set()
        mapper = self.processes
        for p in procs:
            pid = int(p.pid)
            pids.add(pid)
            who = mapper.owner(pid) if mapper is not None else None
            used = getattr(p, "usedGpuMemory", None)
            holders.append(
                {
                    "namespace": who.namespace if who else None,
                    "pod": who.pod if who else None,
                    "container": who.container if who else None,
                    "pod_uid": who.pod_uid if who else None,
                    "hpc_job": who.hpc_job if who else None,
                    "pid": pid,
                    "util_ratio": util_by_pid.get(pid),
                    "mem_used_bytes": int(used) if used is not None else None,
                }
            )
        return holders, pids

"""Sample every GPU of a node through NVML: one row per GPU (and per MIG GPU instance) per sample, never fatal.

``open()`` initialises NVML and finds the GPUs (and their MIG instances, GPM support); ``sample_rows(ts)``
reads them all; ``close()`` releases everything. Errors follow NVML's own classes (:mod:`.errors`):

- per value, routine (NOT_SUPPORTED, NO_PERMISSION …): left null, quietly, and not asked again;
- per device (GPU_IS_LOST, RESET_REQUIRED …): one health event, the GPU is skipped and re-acquired by index
  on every later sample until it answers (then a ``gpu_recovered`` event);
- NVML itself (LIB_RM_VERSION_MISMATCH after a driver upgrade, UNINITIALIZED after a reload): one health
  event, then NVML is re-initialised on each sample until it works again. When every GPU has been lost for a
  few samples (what a driver reload looks like through stale handles) NVML is re-initialised too.

The ``nvml`` object is injected: the ``pynvml`` module in production, a fake with the same functions in tests
(:mod:`.fake`) and the simulator (``collectors.simulator.nvml_sim``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pynvml

from collectors.gpu.nvml import errors, gpm, mig
from collectors.gpu.nvml.calls import Calls
from collectors.gpu.nvml.counters import CounterRates
from collectors.gpu.nvml.device import Device, DeviceReader
from collectors.gpu.nvml.events import EventWatcher, GpuEvent
from collectors.gpu.nvml.frames import gpu_frame, health_frame
from collectors.gpu.nvml.procmap import ProcessMapper
from collectors.gpu.nvml.selfmetrics import SelfMetrics

log = logging.getLogger("aigrid.nvml")


@dataclass
class Sample:
    """What one pass over the node produced: GPU rows and health events, as landing-shaped frames."""

    gpus: pl.DataFrame
    health: pl.DataFrame


@dataclass
class NvmlAgent:
    """Samples one node's GPUs; ``open()`` once, ``sample_rows(ts)`` per interval, ``close()`` at the end."""

    nvml: Any
    site: str
    node: str
    interval_s: float
    producer: str = ""
    processes: ProcessMapper | None = None
    #: Run the NVML event thread (Xid and other critical events). The simulator, which drives time itself, does not.
    watch_events: bool = False
    #: How often each GPU's PCIe throughput is measured with the blocking getter, where nothing cheaper exists.
    pcie_every_s: float = 60.0
    #: How often MIG instances are enumerated again (besides NVML's MIG-configuration-change event).
    mig_refresh_s: float = 300.0
    #: Consecutive samples with every GPU lost before NVML is re-initialised (a driver reload looks like this).
    reinit_after_lost: int = 3
    clock: Callable[[], float] = time.time
    devices: list[Device] = field(default_factory=list)
    metrics: SelfMetrics = field(default_factory=SelfMetrics)
    #: Why the last sample was not clean (one line per problem), for the collector_health row.
    problems: list[str] = field(default_factory=list)
    #: (NVML error code, since when) while NVML as a whole is unavailable.
    outage: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        if not self.producer:
            self.producer = f"nvml-agent@{self.node}"
        self.calls = Calls(self.nvml, self.metrics)
        self.rates = CounterRates()
        self.watcher: EventWatcher | None = None
        self.events_unavailable: str | None = None
        self._sample_no = 0
        self._lost_streak = 0
        self._reinit_wait = self.reinit_after_lost
        self._need_reinit = False
        self._reported: set[tuple[int, str]] = set()
        base = {"interval_s": float(self.interval_s), "site": self.site, "node": self.node}
        base |= {"source": "nvml", "producer": self.producer}
        self._base = base
        period = round(self.pcie_every_s / self.interval_s) if self.interval_s > 0 else 1
        self.reader = DeviceReader(self.calls, self.rates, self.processes, base, period)

    # -- lifecycle --------------------------------------------------------------------------------------

    def open(self) -> list[dict[str, Any]]:
        """Initialise NVML and find the GPUs. Returns health events for GPUs that did not answer.

        Raises :class:`errors.NvmlUnavailableError` when NVML cannot start (no library, no driver …): at start-up
        that is the operator's to fix, so the caller reports it and exits.
        """
        try:
            self.nvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise errors.NvmlUnavailableError(errors.err_code(exc)) from exc
        ts = self._now()
        events = self._enumerate(ts, previous=[])
        self._start_watcher()
        return events

    def close(self) -> None:
        """Stop the event thread, free GPM buffers, shut NVML down (errors ignored: the driver may be gone)."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        for dev in self.devices:
            with contextlib.suppress(pynvml.NVMLError):
                dev.close()
        with contextlib.suppress(pynvml.NVMLError):
            self.nvml.nvmlShutdown()

    # -- sampling ---------------------------------------------------------------------------------------

    def sample(self, ts: dt.datetime) -> Sample:
        """One pass over the node as landing-shaped frames."""
        rows, events = self.sample_rows(ts)
        return Sample(gpu_frame(rows), health_frame(events))

    def sample_rows(self, ts: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One pass over the node: GPU rows and ``gpu_health`` rows, as dicts (cheap to batch)."""
        self.problems = []
        events: list[dict[str, Any]] = []
        if self._need_reinit and not self._reinit(ts, events):
            return [], events
        self._drain_events(events)
        rows: list[dict[str, Any]] = []
        live_pids: set[int] = set()
        now_s = ts.timestamp()
        for position, dev in enumerate(self.devices):
            try:
                if not dev.available:
                    dev = self._reacquire(position, dev, ts, events)
                if self._mig_due(dev, now_s):
                    self._refresh_mig(dev, now_s)
                got, pids = self.reader.read(dev, ts, self._sample_no)
            except errors.DeviceError as exc:
                if dev.available:
                    events.append(self._event(ts, dev.uuid or None, exc.event, exc.code, exc.severity, str(exc)))
                    dev.available = False
                self.problems.append(f"GPU {dev.index}: {exc}")
                continue
            except errors.NvmlUnavailableError as exc:
                events.append(self._event(ts, None, "nvml_unavailable", exc.code, "critical", str(exc)))
                self.problems.append(str(exc))
                self._begin_outage(exc.code)
                break
            except Exception as exc:  # one bad read never stops the node's sample
                code = errors.err_code(exc) if isinstance(exc, pynvml.NVMLError) else None
                text = errors.error_name(code) if code is not None else f"{type(exc).__name__}: {exc}"
                if (dev.index, text) not in self._reported:  # once per GPU and error until it reads cleanly
                    self._reported.add((dev.index, text))
                    log.warning("GPU %d (%s): unexpected error while reading: %s", dev.index, dev.uuid, text)
                    events.append(self._event(ts, dev.uuid or None, "read_error", code, "warning", text))
                self.problems.append(f"GPU {dev.index}: {text}")
                continue
            if self._reported:
                self._reported = {r for r in self._reported if r[0] != dev.index}
            rows.extend(got)
            live_pids |= pids
        self._watch_for_reload()
        if self.processes is not None:
            self.processes.forget_except(live_pids)
        self._sample_no += 1
        return rows, events

    # -- devices ----------------------------------------------------------------------------------------

    def _enumerate(self, ts: dt.datetime, previous: list[Device]) -> list[dict[str, Any]]:
        """Find every GPU. One that does not answer is kept as unavailable (and retried), not dropped."""
        count = self.calls.get(set(), "nvmlDeviceGetCount")
        known = {d.index: d for d in previous}
        self.devices = []
        events: list[dict[str, Any]] = []
        for index in range(int(count or 0)):
            try:
                dev = self._discover(index)
            except errors.DeviceError as exc:
                before = known.get(index)
                dev = Device(index, None, before.uuid if before else "", available=False)
                if before is None or before.available:
                    message = f"GPU index {index} did not answer: {exc}"
                    events.append(self._event(ts, dev.uuid or None, exc.event, exc.code, exc.severity, message))
            if dev is not None:
                self.devices.append(dev)
        return events

    def _discover(self, index: int) -> Device | None:
        """A GPU by index: identity, model, memory, GPM and MIG. None when it is not ours to read."""
        c = self.calls
        unsupported: set[str] = set()
        handle = c.get(unsupported, "nvmlDeviceGetHandleByIndex", index)
        if handle is None:  # NO_PERMISSION: a GPU outside this container's cgroup
            return None
        uuid = _text(c.get(unsupported, "nvmlDeviceGetUUID", handle) or f"index-{index}")
        name = c.get(unsupported, "nvmlDeviceGetName", handle)
        mem = c.get(unsupported, "nvmlDeviceGetMemoryInfo", handle)
        dev = Device(index, handle, uuid, _text(name) if name is not None else None)
        dev.mem_total = int(mem.total) if mem is not None else None
        dev.unsupported = unsupported
        has_gpm = gpm.supported(c, unsupported, handle)
        if has_gpm:
            dev.gpm = gpm.GpmSampler(c, handle)
        dev.mig = mig.discover(c, unsupported, handle, has_gpm)
        return dev

    def _reacquire(self, position: int, dev: Device, ts: dt.datetime, events: list[dict[str, Any]]) -> Device:
        """A lost GPU may come back (after a reset) with a new handle: look it up again by index."""
        fresh = self._discover(dev.index)
        if fresh is None:
            raise errors.DeviceError(int(pynvml.NVML_ERROR_GPU_NOT_FOUND))
        dev.close()
        self.devices[position] = fresh
        if self.watcher is not None:  # its events arrive under the new handle
            self.watcher.register(fresh.handle, fresh.uuid)
        message = "GPU answers again" if dev.uuid in ("", fresh.uuid) else f"GPU {fresh.uuid} replaces {dev.uuid}"
        events.append(self._event(ts, fresh.uuid, "gpu_recovered", None, "info", message))
        return fresh

    def _mig_due(self, dev: Device, now_s: float) -> bool:
        """MIG layouts change rarely (an administrator's act): after NVML's change event, or every
        ``mig_refresh_s`` on boards that have MIG at all."""
        if dev.mig_checked_s is None:
            dev.mig_checked_s = now_s
        if dev.mig_stale:
            return True
        capable = "nvmlDeviceGetMigMode" not in dev.unsupported
        return capable and now_s - dev.mig_checked_s >= self.mig_refresh_s

    def _refresh_mig(self, dev: Device, now_s: float) -> None:
        for instance in dev.mig or []:
            if instance.gpm is not None:
                instance.gpm.close()
        dev.mig = mig.discover(self.calls, dev.unsupported, dev.handle, dev.gpm is not None)
        dev.mig_checked_s = now_s
        dev.mig_stale = False

    # -- NVML re-initialisation -------------------------------------------------------------------------

    def _begin_outage(self, code: int) -> None:
        self._need_reinit = True
        if self.outage is None:
            self.outage = (code, self.clock())

    def _watch_for_reload(self) -> None:
        """Every GPU lost for a while: stale handles after a driver reload, or a node-wide fault. Re-initialise,
        backing off (doubling the wait) while that brings nothing back."""
        if not self.devices or any(d.available for d in self.devices):
            self._lost_streak = 0
            self._reinit_wait = self.reinit_after_lost
            return
        self._lost_streak += 1
        if self._lost_streak >= self._reinit_wait:
            self._lost_streak = 0
            self._reinit_wait = min(self._reinit_wait * 2, 360)
            self._need_reinit = True

    def _reinit(self, ts: dt.datetime, events: list[dict[str, Any]]) -> bool:
        """Shut NVML down and start it again; False (and a problem line) while it still fails."""
        previous = self.devices
        self.close()
        try:
            self.nvml.nvmlInit()
            events.extend(self._enumerate(ts, previous))
        except (pynvml.NVMLError, errors.NvmlUnavailableError) as exc:
            code = exc.code if isinstance(exc, errors.NvmlUnavailableError) else errors.err_code(exc)
            self.problems.append(errors.describe_library_error(code))
            if self.outage is None:
                self.outage = (code, self.clock())
            else:
                self.outage = (code, self.outage[1])
            self.devices = previous
            return False
        self._start_watcher()
        self.rates.clear()  # counters may have restarted with the driver
        self._need_reinit = False
        self.outage = None
        message = f"NVML re-initialised; {sum(d.available for d in self.devices)} of {len(self.devices)} GPUs answer"
        events.append(self._event(ts, None, "nvml_reinitialised", None, "info", message))
        return True

    # -- events -----------------------------------------------------------------------------------------

    def _start_watcher(self) -> None:
        if not self.watch_events:
            return
        watched = [(d.handle, d.uuid) for d in self.devices if d.available]
        self.watcher = EventWatcher(self.nvml, watched, self.clock)
        self.events_unavailable = self.watcher.start()
        if self.events_unavailable is not None:
            log.info("NVML events unavailable on this node (%s); sampling continues", self.events_unavailable)
            self.watcher = None

    def _drain_events(self, events: list[dict[str, Any]]) -> None:
        if self.watcher is None:
            return
        by_uuid = {d.uuid: d for d in self.devices}
        for ev in self.watcher.drain():
            events.append(self._event_row(ev))
            dev = by_uuid.get(ev.gpu_uuid or "")
            if dev is None:
                continue
            if ev.event == "xid":
                dev.xid_last = ev.code
            elif ev.event == "mig_config_change":
                dev.mig_stale = True

    def _event_row(self, ev: GpuEvent) -> dict[str, Any]:
        row = self._event(ev.ts, ev.gpu_uuid, ev.event, ev.code, ev.severity, ev.message)
        row["gpu_instance_id"] = ev.gpu_instance_id
        return row

    def _event(
        self, ts: dt.datetime, uuid: str | None, event: str, code: int | None, severity: str, message: str
    ) -> dict[str, Any]:
        return {
            "ts": ts,
            "site": self.site,
            "node": self.node,
            "gpu_uuid": uuid,
            "gpu_instance_id": None,
            "event": event,
            "code": code,
            "severity": severity,
            "message": message,
            "source": "nvml",
            "producer": self.producer,
        }

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

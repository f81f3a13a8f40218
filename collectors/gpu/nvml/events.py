"""Xid and other critical GPU events, as timestamped events rather than a last-value gauge.

dcgm-exporter's ``XID_ERRORS`` holds only the *last* Xid and never resets, so repeats are invisible
(DE#190/#500, gpu-telemetry §2, §6.5). NVML delivers each event through an event set:
``nvmlEventSetCreate`` → ``nvmlDeviceRegisterEvents`` per GPU → ``nvmlEventSetWait``. The wait blocks (and
answers TIMEOUT when idle), so it runs in its own thread; events are queued with the time they arrived and the
sampling loop drains them into ``gpu_health`` rows.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynvml

from collectors.gpu.nvml import errors
from collectors.gpu.nvml.xid import describe

log = logging.getLogger("aigrid.nvml")

NO_INSTANCE = 0xFFFFFFFF


def _bit(name: str) -> int:
    value = getattr(pynvml, name, 0)
    return int(value) if isinstance(value, int) else 0


XID = _bit("nvmlEventTypeXidCriticalError")
RECOVERY_ACTION = _bit("nvmlEventTypeGpuRecoveryAction")
MIG_CONFIG_CHANGE = _bit("nvmlEventMigConfigChange")

#: Event types the agent registers for: (health event name, severity, message). P-state and clock-change events
#: are left out on purpose: they fire constantly and the sampled P-state and throttle reasons already carry them.
WATCHED: dict[int, tuple[str, str, str]] = {
    bit: meaning
    for bit, meaning in {
        XID: ("xid", "warning", "Xid"),
        _bit("nvmlEventTypeDoubleBitEccError"): ("ecc_uncorrectable", "critical", "Double-bit ECC error"),
        _bit("nvmlEventTypeSingleBitEccErrorStorm"): ("ecc_sbe_storm", "warning", "Storm of single-bit ECC errors"),
        _bit("nvmlEventTypeDramRetirementEvent"): ("dram_retirement", "warning", "DRAM page retirement"),
        _bit("nvmlEventTypeDramRetirementFailure"): ("dram_retirement_failure", "critical", "DRAM retirement failed"),
        _bit("nvmlEventTypeNonFatalPoisonError"): ("poison_nonfatal", "warning", "Non-fatal poison error"),
        _bit("nvmlEventTypeFatalPoisonError"): ("poison_fatal", "critical", "Fatal poison error"),
        _bit("nvmlEventTypeGpuUnavailableError"): ("gpu_unavailable", "critical", "GPU unavailable"),
        RECOVERY_ACTION: ("recovery_action", "critical", "GPU recovery action"),
        _bit("nvmlEventTypePowerSourceChange"): ("power_source_change", "info", "Power source changed"),
        MIG_CONFIG_CHANGE: ("mig_config_change", "info", "MIG configuration changed"),
    }.items()
    if bit
}
WATCHED_MASK = sum(WATCHED)

_RECOVERY = {
    int(getattr(pynvml, n)): n.removeprefix("NVML_GPU_RECOVERY_ACTION_")
    for n in dir(pynvml)
    if n.startswith("NVML_GPU_RECOVERY_ACTION_") and isinstance(getattr(pynvml, n), int)
}


@dataclass(frozen=True)
class GpuEvent:
    """One event as it arrived; ``gpu_uuid`` is that of the whole GPU."""

    ts: dt.datetime
    gpu_uuid: str | None
    gpu_instance_id: int | None
    event: str
    code: int | None
    severity: str
    message: str


def handle_key(handle: Any) -> int:
    """A device handle's identity: the pointer value for NVML's handles, the object for fakes."""
    try:
        address = ctypes.cast(handle, ctypes.c_void_p).value
    except (ctypes.ArgumentError, TypeError):
        return id(handle)
    return int(address or 0)


def to_event(data: Any, uuid: str | None, ts: dt.datetime) -> GpuEvent:
    """An ``nvmlEventData_t`` as a health event: Xids and recovery actions get their code and meaning."""
    etype = int(data.eventType)
    payload = int(data.eventData)
    gi = int(data.gpuInstanceId)
    instance = None if gi == NO_INSTANCE else gi
    name, severity, message = WATCHED.get(etype, ("nvml_event", "info", f"NVML event type {etype:#x}"))
    code: int | None = None
    if etype == XID:
        code = payload
        message, severity = describe(payload)
    elif etype == RECOVERY_ACTION:
        code = payload
        action = _RECOVERY.get(payload, str(payload))
        message = f"{message}: {action}"
        severity = "info" if payload == 0 else "critical"
    elif payload:
        message = f"{message} (data {payload})"
    return GpuEvent(ts, uuid, instance, name, code, severity, message)


class EventWatcher:
    """Owns an NVML event set and the thread that waits on it."""

    def __init__(
        self, nvml: Any, devices: list[tuple[Any, str]], clock: Callable[[], float] = time.time, wait_ms: int = 500
    ) -> None:
        self.nvml = nvml
        self.devices = devices
        self.clock = clock
        self.wait_ms = wait_ms
        self.registered: dict[int, str] = {}
        self.failures = 0
        self._queue: queue.SimpleQueue[GpuEvent] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._set: Any = None

    def start(self) -> str | None:
        """Create the set, register every GPU for the event types it supports, start waiting.

        Returns None when at least one GPU is watched, else why events are unavailable (an NVML error name),
        which the agent reports once in its self-metrics: a node without events still samples.
        """
        try:
            self._set = self.nvml.nvmlEventSetCreate()
        except pynvml.NVMLError as exc:
            return errors.error_name(errors.err_code(exc))
        reason = "no GPU supports the watched event types"
        for handle, uuid in self.devices:
            reason = self.register(handle, uuid) or reason
        if not self.registered:
            self._free()
            return reason
        self._thread = threading.Thread(target=self._run, name="nvml-events", daemon=True)
        self._thread.start()
        return None

    def register(self, handle: Any, uuid: str) -> str | None:
        """Watch one more GPU (at start, or one that came back with a new handle). None when it is watched, else
        why not. NVML is thread-safe, so this may run while the thread waits on the set."""
        if self._set is None:
            return "no event set"
        try:
            mask = int(self.nvml.nvmlDeviceGetSupportedEventTypes(handle)) & WATCHED_MASK
            if not mask:
                return "no GPU supports the watched event types"
            self.nvml.nvmlDeviceRegisterEvents(handle, mask, self._set)
        except pynvml.NVMLError as exc:
            return errors.error_name(errors.err_code(exc))
        self.registered[handle_key(handle)] = uuid
        return None

    def stop(self) -> None:
        """Stop waiting (within one wait timeout) and free the set."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.wait_ms / 1000 + 2.0)
            if self._thread.is_alive():  # still inside the driver: freeing the set under it would be unsafe
                log.warning("NVML event thread did not stop within %d ms; leaving its event set", self.wait_ms)
                return
            self._thread = None
        self._free()

    def drain(self) -> list[GpuEvent]:
        """Every event received since the last drain, oldest first."""
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.nvml.nvmlEventSetWait(self._set, self.wait_ms)
            except pynvml.NVMLError as exc:
                code = errors.err_code(exc)
                if code == pynvml.NVML_ERROR_TIMEOUT:
                    continue
                # A lost GPU or a dying driver makes the wait fail at once: back off instead of spinning. The
                # sampling loop reports the GPU or NVML failure itself.
                self.failures += 1
                if code in errors.LIBRARY:
                    return
                self._stop.wait(1.0)
                continue
            except Exception:  # never let the watcher thread die silently on a malformed answer
                log.exception("NVML event wait failed")
                self.failures += 1
                self._stop.wait(1.0)
                continue
            ts = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
            self._queue.put(to_event(data, self.registered.get(handle_key(data.device)), ts))

    def _free(self) -> None:
        if self._set is not None:
            with contextlib.suppress(pynvml.NVMLError):
                self.nvml.nvmlEventSetFree(self._set)
            self._set = None

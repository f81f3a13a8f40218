"""The agent's run loop: sample on a fixed cadence, land batches, stop cleanly.

- **Cadence**: samples are due at whole multiples of the interval since the epoch (…:00, :10, :20 for 10 s),
  so nodes sample at the same instants and timestamps never drift however long a sample takes. A sample that
  overruns skips the ticks it missed instead of bursting to catch up. Timestamps are the scheduled ticks.
- **Batches**: rows are buffered and landed when the flush window (one minute by default) changes, so a batch
  is landed at least every minute and never spans an hour boundary: each file belongs to one hourly
  partition. Landing is atomic; a batch that cannot be written (disk full) is kept and retried.
- **Stop**: the ``stop`` event (set by SIGINT/SIGTERM in the CLI) wakes the wait at once; the last batch is
  landed and NVML shut down before returning.
- **NVML failures** are the agent's to survive (:mod:`.agent`). One is not: after a driver *upgrade* the NVML
  library mapped into this process no longer matches the kernel module, and no re-initialisation can fix
  that; if LIB_RM_VERSION_MISMATCH persists for ``restart_after_s`` the loop lands what it has and returns
  exit code 4 so the supervisor (systemd, Kubernetes) restarts the agent with the new library.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from collectors.errors import InputError
from collectors.gpu.nvml import errors
from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.frames import collector_frame, gpu_frame, health_frame
from collectors.gpu.nvml.procmap import PodListing
from collectors.gpu.nvml.selfmetrics import sample_row
from collectors.landing import LandingZone

log = logging.getLogger("aigrid.nvml")

EXIT_RESTART = 4
#: Rows kept while landing fails; beyond this the oldest are dropped (about a day of an 8-GPU node at 10 s).
MAX_BUFFERED_ROWS = 100_000


class StopSignal(Protocol):
    """What the loop needs of a ``threading.Event``: wait for it (with a timeout) and ask whether it is set."""

    def wait(self, timeout: float | None = None) -> bool: ...

    def is_set(self) -> bool: ...


@dataclass
class LoopConfig:
    interval_s: float
    flush_every_s: float = 60.0
    once: bool = False
    restart_after_s: float = 300.0

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise InputError("the interval must be positive", field="interval")
        if self.flush_every_s <= 0 or 3600 % self.flush_every_s:
            raise InputError("the flush window must divide an hour", field="flush_every_s")


@dataclass
class RunResult:
    """What a run did, for the CLI's closing line."""

    samples: int = 0
    gpu_rows: int = 0
    health_rows: int = 0
    files: int = 0
    skipped_ticks: int = 0
    failed_flushes: int = 0
    exit_code: int = 0
    last_rows: list[dict[str, Any]] = field(default_factory=list)


class Cadence:
    """Due times at whole multiples of the interval since the epoch."""

    def __init__(self, interval_s: float, clock: Callable[[], float]) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.skipped = 0

    def first(self) -> float:
        return self._next_at_or_after(self.clock())

    def after(self, tick: float) -> float:
        """The tick after ``tick``; if that is already past, the first one still ahead (missed ones skipped). If
        the wall clock stepped back by more than an interval, the schedule is re-aligned to it."""
        nxt = tick + self.interval_s
        now = self.clock()
        if nxt <= now:
            ahead = self._next_at_or_after(now)
            self.skipped += round((ahead - nxt) / self.interval_s)
            return ahead
        if nxt - now > 2 * self.interval_s:
            log.warning("the clock went back %.1f s; re-aligning the sampling schedule", nxt - now)
            return self._next_at_or_after(now)
        return nxt

    def _next_at_or_after(self, t: float) -> float:
        return math.ceil(round(t / self.interval_s, 9)) * self.interval_s


class Batch:
    """Rows waiting to be landed, and the flush window they belong to."""

    def __init__(self) -> None:
        self.gpus: list[dict[str, Any]] = []
        self.health: list[dict[str, Any]] = []
        self.collector: list[dict[str, Any]] = []
        self.window: int | None = None
        self.first_ts: dt.datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.gpus or self.health or self.collector)

    def clear(self) -> None:
        self.gpus, self.health, self.collector = [], [], []
        self.window = self.first_ts = None


def run(
    agent: NvmlAgent,
    landing: LandingZone,
    config: LoopConfig,
    stop: StopSignal,
    clock: Callable[[], float] = time.time,
    pods: PodListing | None = None,
) -> RunResult:
    """Open the agent, sample until ``stop`` is set (or once), land every batch, close. Returns what it did.

    Raises :class:`errors.NvmlUnavailableError` when NVML cannot start at all (the caller reports it).
    """
    result = RunResult()
    batch = Batch()
    cadence = Cadence(config.interval_s, clock)
    start_events = agent.open()
    instances = sum(len(d.mig or []) for d in agent.devices)
    log.info(
        "sampling %d GPU(s)%s every %g s as %s into %s",
        len(agent.devices),
        f" and {instances} MIG instance(s)" if instances else "",
        config.interval_s,
        agent.producer,
        landing.root.landing,
    )
    try:
        tick = clock() if config.once else cadence.first()
        while True:
            if not config.once and stop.wait(max(0.0, tick - clock())):
                break
            ts = dt.datetime.fromtimestamp(tick, dt.UTC)
            window = math.floor(tick / config.flush_every_s)
            if batch.window is not None and window != batch.window:
                _flush(agent, landing, batch, result)
            if batch.window is None:
                batch.window, batch.first_ts = window, ts
            _sample(agent, batch, ts, result, clock, pods)
            batch.health.extend(start_events)
            start_events = []
            if config.once or stop.is_set():
                break
            if _restart_needed(agent, config, clock):
                result.exit_code = EXIT_RESTART
                break
            tick = cadence.after(tick)
            if math.floor(tick / config.flush_every_s) != batch.window:
                _flush(agent, landing, batch, result)  # land now rather than after the next wait
    finally:
        result.skipped_ticks = cadence.skipped
        _flush(agent, landing, batch, result)
        agent.close()
    return result


def _sample(
    agent: NvmlAgent,
    batch: Batch,
    ts: dt.datetime,
    result: RunResult,
    clock: Callable[[], float],
    pods: PodListing | None,
) -> None:
    started = time.perf_counter()
    rows, events = agent.sample_rows(ts)
    duration = time.perf_counter() - started
    batch.gpus.extend(rows)
    batch.health.extend(events)
    batch.collector.append(sample_row(ts, agent.site, agent.producer, agent.node, duration, len(rows), agent.problems))
    if result.samples == 0 and agent.events_unavailable is not None:
        batch.collector.append(
            sample_row(ts, agent.site, agent.producer, "events", 0.0, 0, [f"events: {agent.events_unavailable}"])
        )
    if pods is not None:
        pods.refresh()  # rate-limited; so a missing listing is reported even while no pod holds a GPU
    if pods is not None and (problem := pods.take_error()) is not None:
        batch.collector.append(sample_row(ts, agent.site, agent.producer, "pods-json", 0.0, 0, [problem]))
    result.samples += 1
    result.last_rows = rows


def _restart_needed(agent: NvmlAgent, config: LoopConfig, clock: Callable[[], float]) -> bool:
    if agent.outage is None or agent.outage[0] != errors.MISMATCH:
        return False
    if clock() - agent.outage[1] < config.restart_after_s:
        return False
    log.error(
        "%s for %.0f s: the agent must restart to load the new NVML library",
        errors.describe_library_error(errors.MISMATCH),
        clock() - agent.outage[1],
    )
    return True


def _flush(agent: NvmlAgent, landing: LandingZone, batch: Batch, result: RunResult) -> None:
    """Land the batch (GPU rows, health events, self-metrics). On failure keep it for the next flush."""
    if not batch or batch.first_ts is None:
        return
    batch.collector.extend(agent.metrics.drain(batch.first_ts, agent.site, agent.producer))
    landed = _land(agent.producer, landing, batch)
    if isinstance(landed, InputError):  # rows that do not fit the landing schema: a bug, never a reason to stop
        log.error("batch refused by the landing schema, dropped: %s", landed)
        batch.clear()
        return
    if isinstance(landed, OSError):
        result.failed_flushes += 1
        log.error("cannot land %d GPU rows (will retry at the next flush): %s", len(batch.gpus), landed)
        if len(batch.gpus) > MAX_BUFFERED_ROWS:
            dropped = len(batch.gpus) - MAX_BUFFERED_ROWS
            del batch.gpus[:dropped]
            log.error("dropped the oldest %d buffered GPU rows", dropped)
        return
    result.gpu_rows += len(batch.gpus)
    result.health_rows += len(batch.health)
    result.files += landed
    batch.clear()


def _land(producer: str, landing: LandingZone, batch: Batch) -> int | OSError | InputError:
    """Write the three landing sources; the number of files, or the error that stopped it. A retry after a
    partial failure re-lands identical rows, which the landing zone treats as a no-op."""
    try:
        files = landing.write_batch("gpu", producer, gpu_frame(batch.gpus))
        files += landing.write_batch("gpu_health", producer, health_frame(batch.health))
        files += landing.write_batch("collector_health", producer, collector_frame(batch.collector))
    except (OSError, InputError) as exc:
        return exc
    return len(files)

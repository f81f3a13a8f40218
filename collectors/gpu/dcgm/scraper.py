"""The dcgm-exporter scraper: many targets, one asyncio loop, landed as Parquet batches.

Design (figures in shared/reference/performance.md §6): one shared aiohttp session with keep-alive
(aiohttp costs 8–16× less CPU per scrape than httpx), a semaphore bounding requests in flight, a timeout per
request below the interval, ``Accept-Encoding: gzip``, and per-target start offsets spread over the interval
(a stable hash of the URL, as Prometheus does) so that a thousand targets do not all fire at once.

Each target runs its own loop, so a target that is down or slow delays only itself: its attempt ends at the
timeout and lands a ``collector_health`` row saying why. Every attempt, good or bad, lands one such row
(target, ok, duration, samples, error). A scrape's GPU rows go to a buffer that is landed every
``flush_every_s`` through :meth:`collectors.landing.LandingZone.write_batch` (atomic, hourly files); XID
changes land as ``gpu_health`` rows. Nothing a target sends can stop the loop: bad bodies become health rows,
and even an unexpected exception is logged and recorded against that target.

Defined outcomes per scrape: HTTP status other than 200, an HTML page, a content type other than
``text/plain`` or OpenMetrics, a body cut off in transfer (aiohttp checks Content-Length and chunking) or a
body without a single sample are failed attempts (``ok=false``), nothing lands from them; malformed lines,
bad values and a last line without its line feed are problems of an otherwise good scrape (``ok=true``, the
first problem in ``error``), the rest of the scrape lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from collectors.errors import InputError
from collectors.gpu.dcgm.health import XidTracker, scrape_health_row
from collectors.gpu.dcgm.normalise import Normaliser
from collectors.gpu.dcgm.parse import ExpositionParser
from collectors.gpu.dcgm.rows import RowBuffer, collector_health_buffer, gpu_buffer, gpu_health_buffer
from collectors.gpu.dcgm.targets import Target
from collectors.landing import LandingZone
from collectors.layout import DataRoot

log = logging.getLogger(__name__)

SOURCE = "dcgm"
ACCEPT = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"
_OK_TYPES = ("text/plain", "application/openmetrics-text")


def default_producer() -> str:
    return f"dcgm-scraper@{socket.gethostname()}"


def start_offset(target: Target, interval_s: float) -> float:
    """A stable offset in [0, interval) for a target, so restarts keep the same spread."""
    return (zlib.crc32(target.url.encode()) / 2**32) * interval_s


@dataclass
class ScrapeOutcome:
    target: str
    ok: bool
    duration_s: float
    samples: int
    rows: int
    error: str | None


@dataclass
class FlushReport:
    gpu_rows: int = 0
    health_rows: int = 0
    xid_events: int = 0
    files: list[Path] = field(default_factory=list)


@dataclass
class _TargetState:
    target: Target
    url: URL  # parsed once: building a URL from a string costs more per request than parsing the body
    parser: ExpositionParser
    normaliser: Normaliser
    last: ScrapeOutcome | None = None
    busy: bool = False


class DcgmScraper:
    """Scrape ``targets`` every ``interval_s`` and land the rows under ``out_root``."""

    def __init__(
        self,
        targets: Sequence[Target],
        out_root: DataRoot | Path | str,
        *,
        interval_s: float = 30.0,
        timeout_s: float | None = None,
        concurrency: int = 64,
        flush_every_s: float = 60.0,
        slot_s: float = 0.25,
        gzip: bool = True,
        producer: str | None = None,
        authorization: str | None = None,
    ) -> None:
        if interval_s <= 0:
            raise InputError(f"interval must be positive, got {interval_s:g} s", field="interval")
        timeout = min(10.0, 0.8 * interval_s) if timeout_s is None else timeout_s
        if not 0 < timeout < interval_s:
            raise InputError(f"timeout {timeout:g} s must be positive and below the interval", field="timeout")
        if concurrency < 1:
            raise InputError("concurrency must be at least 1", field="concurrency")
        self.interval_s = float(interval_s)
        self.timeout_s = float(timeout)
        self.concurrency = concurrency
        self.flush_every_s = flush_every_s
        self.slot_s = slot_s
        self.gzip = gzip
        self.producer = producer or default_producer()
        self._authorization = authorization  # an Authorization header value; never logged
        self.landing = LandingZone(out_root)
        self.states = [self._state(t) for t in targets]
        self._gpu = gpu_buffer()
        self._gpu_health = gpu_health_buffer()
        self._health = collector_health_buffer()
        self._xids = XidTracker()
        self._stopping = False
        self._sem: asyncio.Semaphore | None = None
        self._session: aiohttp.ClientSession | None = None
        self.totals = FlushReport()
        self.attempts = 0

    def _state(self, target: Target) -> _TargetState:
        normaliser = Normaliser(
            site=target.site,
            node_hint=target.node_hint,
            interval_s=self.interval_s,
            producer=self.producer,
            source=SOURCE,
            generation=target.generation,
            origin=target.address,
        )
        return _TargetState(target, URL(target.url, encoded=True), ExpositionParser(target.address), normaliser)

    # -- public API ----------------------------------------------------------------------------------------

    async def scrape_once(self) -> list[ScrapeOutcome]:
        """Scrape every target now (concurrently, bounded), land everything, return one outcome per target."""
        async with self._open():
            outcomes = await asyncio.gather(*(self._scrape(state) for state in self.states))
        self.flush()
        return list(outcomes)

    async def run(self, stop_event: asyncio.Event) -> None:
        """Scrape until ``stop_event`` is set, then finish attempts in flight and land what is buffered.

        Targets are spread over the interval by a stable hash of their URL, in ``slot_s`` slots: one timer
        per slot rather than per target, so the requests of a slot share event-loop wake-ups (per-target
        timers cost ~0.4 ms of CPU per scrape in event-loop overhead on the benchmark machine, slots ~0.1).
        """
        async with self._open():
            loop = asyncio.get_running_loop()
            slots = self._slots()
            slot_len = self.interval_s / len(slots)
            in_flight: set[asyncio.Task[ScrapeOutcome]] = set()
            flusher = asyncio.create_task(self._flush_loop())
            stopped = asyncio.create_task(stop_event.wait())
            start = loop.time()
            tick = 0
            try:
                while True:
                    delay = start + tick * slot_len - loop.time()
                    if delay > 0:
                        done, _ = await asyncio.wait({stopped}, timeout=delay)
                        if done:
                            break
                    elif stop_event.is_set():
                        break
                    for state in slots[tick % len(slots)]:
                        if state.busy:  # still on its previous attempt (only when the loop is overloaded)
                            continue
                        task = asyncio.create_task(self._scrape(state))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    tick += 1
                    behind = loop.time() - (start + tick * slot_len)
                    if behind > self.interval_s:  # a suspended host: skip the missed slots, keep the phase
                        tick += int(behind // slot_len)
            finally:
                flusher.cancel()
                stopped.cancel()
                if in_flight:
                    await asyncio.wait(in_flight, timeout=self.timeout_s + 5)
        await asyncio.to_thread(self._land, self._drain())

    def _slots(self) -> list[list[_TargetState]]:
        # Slots of ``slot_s``, but never so many that a slot holds fewer than ~16 targets: a slot's requests
        # share the loop's wake-ups, which is where the per-scrape overhead goes.
        count = max(1, min(round(self.interval_s / self.slot_s), len(self.states) // 16))
        slots: list[list[_TargetState]] = [[] for _ in range(count)]
        for state in self.states:
            offset = start_offset(state.target, self.interval_s)
            slots[min(count - 1, int(offset / self.interval_s * count))].append(state)
        return slots

    def flush(self) -> FlushReport:
        """Land every buffered row now (one file per source and UTC hour)."""
        return self._land(self._drain())

    def _drain(self) -> list[tuple[str, RowBuffer, list[dict[str, Any]]]]:
        buffers = (("gpu", self._gpu), ("gpu_health", self._gpu_health), ("collector_health", self._health))
        return [(source, buffer, buffer.drain()) for source, buffer in buffers]

    def _land(self, drained: list[tuple[str, RowBuffer, list[dict[str, Any]]]]) -> FlushReport:
        """Write drained rows; on failure every row not yet landed goes back to its buffer."""
        report = FlushReport()
        for i, (source, buffer, rows) in enumerate(drained):
            if not rows:
                continue
            try:
                report.files += self.landing.write_batch(source, self.producer, buffer.frame_of(rows))
            except BaseException:
                for _, later_buffer, later_rows in drained[i:]:
                    later_buffer.restore(later_rows)
                raise
            if source == "gpu":
                report.gpu_rows = len(rows)
            elif source == "gpu_health":
                report.xid_events = len(rows)
            else:
                report.health_rows = len(rows)
        self.totals.gpu_rows += report.gpu_rows
        self.totals.health_rows += report.health_rows
        self.totals.xid_events += report.xid_events
        self.totals.files += report.files
        return report

    # -- internals -----------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[None]:
        # Keep each target's connection alive from one scrape to the next (aiohttp's default idle time is 15 s,
        # shorter than the usual 30 s interval); idle connections do not count against ``limit``.
        connector = aiohttp.TCPConnector(
            limit=self.concurrency, keepalive_timeout=self.interval_s + self.timeout_s + 5, ttl_dns_cache=300
        )
        # gzip: ~10x fewer bytes on the wire (exposition text is ~550 GB/day at 10k GPUs every 10 s) for
        # ~0.07 ms of inflate CPU per 8-GPU scrape; "identity" where the network is free and CPU is not.
        encoding = "gzip" if self.gzip else "identity"
        headers = {"Accept": ACCEPT, "Accept-Encoding": encoding, "User-Agent": "aigrid-dcgm-scraper"}
        if self._authorization:
            headers["Authorization"] = self._authorization
        self._sem = asyncio.Semaphore(self.concurrency)
        async with aiohttp.ClientSession(
            connector=connector, headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
        ) as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every_s)
            try:
                await asyncio.to_thread(self._land, self._drain())
            except Exception:  # a full disk must not stop scraping; the next flush retries
                log.exception("landing a batch failed; rows stay buffered")

    async def _scrape(self, state: _TargetState) -> ScrapeOutcome:
        assert self._sem is not None
        self.attempts += 1
        state.busy = True
        try:
            return await self._scrape_bounded(state)
        finally:
            state.busy = False

    async def _scrape_bounded(self, state: _TargetState) -> ScrapeOutcome:
        assert self._sem is not None
        async with self._sem:
            ts = dt.datetime.now(dt.UTC)
            t0 = time.perf_counter()
            try:
                outcome = await self._attempt(state, ts, t0)
            except Exception as exc:  # never let one target's surprise stop the collector
                log.exception("scraping %s failed unexpectedly", state.target.address)
                outcome = self._failed(state, ts, t0, f"internal error: {type(exc).__name__}: {exc}")
        state.last = outcome
        return outcome

    async def _attempt(self, state: _TargetState, ts: dt.datetime, t0: float) -> ScrapeOutcome:
        session = self._session
        assert session is not None
        target = state.target
        try:
            async with session.get(state.url) as resp:
                if resp.status != 200:
                    kind = " (HTML page)" if "html" in resp.content_type else ""
                    return self._failed(state, ts, t0, f"HTTP {resp.status} {resp.reason or ''}".strip() + kind)
                ctype = resp.content_type
                if resp.headers.get("Content-Type") and not ctype.startswith(_OK_TYPES):
                    return self._failed(state, ts, t0, f"unexpected content type {ctype!r}, not a metrics page")
                body = await resp.read()
        except TimeoutError:
            return self._failed(state, ts, t0, f"timed out after {self.timeout_s:g} s")
        except aiohttp.ClientPayloadError as exc:
            return self._failed(state, ts, t0, f"body cut off or corrupt in transfer: {_short(exc)}")
        except aiohttp.ClientConnectorError as exc:
            reason = os.strerror(exc.os_error.errno) if exc.os_error.errno else str(exc.os_error)
            return self._failed(state, ts, t0, f"cannot connect: {reason}")
        except aiohttp.ClientError as exc:
            return self._failed(state, ts, t0, f"{type(exc).__name__}: {_short(exc)}")
        text = body.decode("utf-8", errors="replace")
        try:
            result = state.parser.parse(text, require_final_newline=True)
        except InputError as exc:
            return self._failed(state, ts, t0, exc.reason)
        if not result.values:
            first = f": {result.problems[0]}" if result.problems else ""
            return self._failed(state, ts, t0, f"no samples in the body{first}")
        report = state.normaliser.normalise(result, ts, self._gpu, parser_generation=state.parser.generation)
        if report.xids:
            for row in self._xids.events(report.xids, ts=ts, site=target.site, source=SOURCE, producer=self.producer):
                self._gpu_health.append(row)
        problems = result.problem_count + len(report.problems)
        error = None
        if problems:
            error = f"{problems} problem(s), first: {(result.problems or report.problems)[0]}"
        return self._outcome(state, ts, t0, samples=len(result), rows=report.rows, error=error)

    def _failed(self, state: _TargetState, ts: dt.datetime, t0: float, error: str) -> ScrapeOutcome:
        return self._outcome(state, ts, t0, samples=0, rows=0, error=error, ok=False)

    def _outcome(
        self,
        state: _TargetState,
        ts: dt.datetime,
        t0: float,
        *,
        samples: int,
        rows: int,
        error: str | None,
        ok: bool = True,
    ) -> ScrapeOutcome:
        """Record the attempt's ``collector_health`` row and return what the caller prints."""
        duration = time.perf_counter() - t0
        target = state.target
        self._health.append(
            scrape_health_row(
                ts=ts,
                site=target.site,
                source=SOURCE,
                producer=self.producer,
                target=target.address,
                ok=ok,
                duration_s=duration,
                samples=samples,
                error=error,
            )
        )
        return ScrapeOutcome(target.address, ok, duration, samples, rows, error)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

"""Backfill dcgm-exporter history from an existing Prometheus, landed exactly like live scrapes.

A site that already runs Prometheus has months of dcgm-exporter series; this brings them into the landing
zone on day one. For every step-aligned time ``t`` the values Prometheus returns for ``t`` (its instant
value: the latest sample within the lookback window) go through the same normaliser as a live scrape of the
same exporter (one :class:`~collectors.gpu.dcgm.normalise.Normaliser` per ``instance``), so rows, units,
holders and XID events are identical in shape; ``source`` is ``prometheus`` and ``interval_s`` the step.

Working within Prometheus' limits (shared/reference/performance.md §3.3):

- **11,000 points per series** per range query: a query never spans more than 10,999 steps;
- **``--query.max-samples``** (50 M by default, counting the points a query holds): each metric is queried on
  its own, chunks are sized from the number of series so one chunk holds about ``sample_budget`` samples,
  and a query that is still refused ("too many samples") is split in halves until it passes;
- **memory on this side**: the same budget bounds what one chunk holds in Python.

Whole UTC hours only: the range is cut to whole hours, ending no later than five minutes ago (the lookback
window must be complete), and chunks are whole hours (or whole fractions of an hour) on a grid anchored at
the Unix epoch. Each landed hour is therefore always the same rows under the same file name, which makes
re-runs and overlapping ranges no-ops in the landing zone. Progress is kept in a state file
(:mod:`~collectors.gpu.prometheus.state`): an interrupted backfill resumes at the first unfinished chunk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yarl import URL

from collectors.errors import InputError
from collectors.gpu.dcgm.health import XidTracker, scrape_health_row
from collectors.gpu.dcgm.names import METRICS, XID_WINDOW_COUNT
from collectors.gpu.dcgm.normalise import Normaliser
from collectors.gpu.dcgm.parse import ExpositionResult, Series
from collectors.gpu.dcgm.rows import collector_health_buffer, gpu_buffer, gpu_health_buffer
from collectors.gpu.prometheus.api import PrometheusClient, PrometheusError, TooMuchDataError
from collectors.gpu.prometheus.state import BackfillState
from collectors.landing import LandingZone
from collectors.layout import DataRoot

SOURCE = "prometheus"
MAX_POINTS_PER_SERIES = 11_000
DEFAULT_SAMPLE_BUDGET = 1_000_000
LOOKBACK = dt.timedelta(minutes=5)
_NAME_PATTERN = "DCGM_.+|dcgm_.+"
_XID_NAMES = frozenset({XID_WINDOW_COUNT, *(n for n, m in METRICS.items() if m.dcgm_id == 230)})


@dataclass
class ChunkProgress:
    done: int
    total: int
    chunk_start: dt.datetime
    gpu_rows: int
    skipped: bool


@dataclass
class BackfillReport:
    url: str
    start: dt.datetime
    end: dt.datetime
    step_s: float
    chunk_s: float = 0.0
    chunks: int = 0
    skipped: int = 0
    series: int = 0
    samples: int = 0
    gpu_rows: int = 0
    xid_events: int = 0
    problems: int = 0
    split_queries: int = 0
    requests: int = 0
    metrics: list[str] = field(default_factory=list)
    ignored_metrics: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def backfill(
    url: str,
    start: dt.datetime,
    end: dt.datetime,
    out_root: DataRoot | Path | str,
    *,
    site: str,
    step: float = 30.0,
    selector: str = "",
    producer: str | None = None,
    sample_budget: int = DEFAULT_SAMPLE_BUDGET,
    max_points: int = MAX_POINTS_PER_SERIES,
    concurrency: int = 4,
    timeout_s: float = 120.0,
    retries: int = 3,
    authorization: str | None = None,
    progress: Callable[[ChunkProgress], None] | None = None,
    now: dt.datetime | None = None,
) -> BackfillReport:
    """Land dcgm-exporter history in [start, end) from the Prometheus at ``url``; see the module docstring.

    ``selector`` adds label matchers to every query (e.g. ``job="dcgm-exporter"``). Resumable: completed
    chunks are recorded under ``<out_root>/state/prometheus-backfill/``.
    """
    job = _Backfill(
        url,
        DataRoot.at(out_root) if not isinstance(out_root, DataRoot) else out_root,
        site=site,
        step_s=float(step),
        selector=selector.strip(),
        producer=producer,
        sample_budget=sample_budget,
        max_points=max_points,
        concurrency=concurrency,
        progress=progress,
    )
    return asyncio.run(job.run(start, end, now or dt.datetime.now(dt.UTC), timeout_s, retries, authorization))


def plan_range(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) cut to whole UTC hours, ending at least the lookback window before ``now``."""
    first = _floor(start, 3600)
    last = _floor(min(end, now - LOOKBACK), 3600)
    return first, max(first, last)


def chunk_seconds(step_s: float, series: int, sample_budget: int, max_points: int) -> float:
    """Chunk length: at most ``max_points - 1`` steps (the seed step for XIDs takes the last point) and about
    ``sample_budget`` samples for ``series`` series, rounded to whole hours or a whole fraction of one."""
    points = max(1, min(max_points - 1, sample_budget // max(1, series)))
    seconds = points * step_s
    if seconds >= 3600:
        return float(int(seconds // 3600) * 3600)
    for divisor in range(1, 3601):
        candidate = 3600 / divisor
        if candidate <= seconds and candidate % step_s == 0:
            return candidate
    return step_s


def _floor(ts: dt.datetime, seconds: float) -> dt.datetime:
    epoch = ts.timestamp()
    return dt.datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, dt.UTC)


class _Backfill:
    def __init__(
        self,
        url: str,
        root: DataRoot,
        *,
        site: str,
        step_s: float,
        selector: str,
        producer: str | None,
        sample_budget: int,
        max_points: int,
        concurrency: int,
        progress: Callable[[ChunkProgress], None] | None,
    ) -> None:
        if step_s <= 0 or (step_s < 3600 and 3600 % step_s) or (step_s >= 3600 and step_s % 3600):
            raise InputError(
                f"step {step_s:g} s must divide an hour (e.g. 15s, 30s, 1m) or be whole hours", field="step"
            )
        if "{" in selector or "}" in selector:
            raise InputError('give the selector as label matchers without braces, e.g. job="dcgm"', field="selector")
        self.url = url
        self.safe_url = str(URL(url).with_user(None))  # never write credentials into state or rows
        self.root = root
        self.site = site
        self.step_s = step_s
        self.selector = selector
        self.producer = producer or f"prometheus@{URL(url).host}:{URL(url).port}"
        self.sample_budget = sample_budget
        self.max_points = max_points
        self.concurrency = concurrency
        self.progress = progress
        self.landing = LandingZone(root)
        self.tracker = XidTracker()
        self.normalisers: dict[str, Normaliser] = {}
        self.interned: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
        self.helps: dict[str, str] = {}

    def _match(self, name_matcher: str) -> str:
        extra = f", {self.selector}" if self.selector else ""
        return f"{{{name_matcher}{extra}}}"

    async def run(
        self,
        start: dt.datetime,
        end: dt.datetime,
        now: dt.datetime,
        timeout_s: float,
        retries: int,
        authorization: str | None,
    ) -> BackfillReport:
        if end <= start:
            raise InputError("--end must be after --start", field="end")
        first, last = plan_range(start, end, now)
        report = BackfillReport(self.safe_url, first, last, self.step_s)
        if last <= first:
            return report
        state = BackfillState.load(
            self.root, url=self.safe_url, site=self.site, step_s=self.step_s, selector=self.selector
        )
        async with PrometheusClient(self.url, timeout_s=timeout_s, retries=retries, authorization=authorization) as api:
            try:
                await self._run(api, state, report)
            finally:
                report.requests = api.requests
        return report

    async def _run(self, api: PrometheusClient, state: BackfillState, report: BackfillReport) -> None:
        first, last = report.start, report.end
        names = await api.label_values("__name__", self._match(f'__name__=~"{_NAME_PATTERN}"'), first, last)
        report.metrics = sorted(n for n in names if n in METRICS or n == XID_WINDOW_COUNT)
        report.ignored_metrics = sorted(set(names) - set(report.metrics))
        if not report.metrics:
            return
        self.helps = {k: v for k, v in (await api.metadata()).items() if k in report.metrics}
        if state.chunk_s is None:
            known = "|".join(report.metrics)
            series = await api.series_count(self._match(f'__name__=~"{known}"'), first, last)
            state.chunk_s = chunk_seconds(self.step_s, series, self.sample_budget, self.max_points)
            state.save()
        report.chunk_s = chunk_s = state.chunk_s
        grid_start = int(_floor(first, chunk_s).timestamp())
        chunks = list(range(grid_start, int(last.timestamp()), int(chunk_s)))
        report.chunks = len(chunks)
        for i, chunk in enumerate(chunks):
            c_start = max(dt.datetime.fromtimestamp(chunk, dt.UTC), first)
            c_end = min(dt.datetime.fromtimestamp(chunk + chunk_s, dt.UTC), last)
            whole = c_start.timestamp() == chunk and c_end.timestamp() == chunk + chunk_s
            skipped = whole and chunk in state.done
            rows = 0
            if skipped:
                report.skipped += 1
            else:
                rows = await self._chunk(api, c_start, c_end, report)
                if whole:
                    state.mark_done(chunk)
            if self.progress is not None:
                self.progress(ChunkProgress(i + 1, len(chunks), c_start, rows, skipped))

    async def _chunk(self, api: PrometheusClient, start: dt.datetime, end: dt.datetime, report: BackfillReport) -> int:
        t0 = time.perf_counter()
        wall = dt.datetime.now(dt.UTC)
        sem = asyncio.Semaphore(self.concurrency)
        last_point = end - dt.timedelta(seconds=self.step_s)
        seed = start - dt.timedelta(seconds=self.step_s)

        async def fetch(name: str) -> tuple[str, list[Any]]:
            async with sem:
                first = seed if name in _XID_NAMES else start
                return name, await self._query(api, self._match(f'__name__="{name}"'), first, last_point, report)

        health = collector_health_buffer()
        try:
            results = await asyncio.gather(*(fetch(n) for n in report.metrics))
        except PrometheusError as exc:
            health.append(self._health(wall, t0, False, 0, f"{start:%Y-%m-%dT%H:%MZ}: {exc}"))
            report.files += self.landing.write_batch("collector_health", self.producer, health.to_frame())
            raise
        gpu, events = gpu_buffer(), gpu_health_buffer()
        samples, problems = self._land_rows(results, start.timestamp(), gpu, events)
        report.samples += samples
        report.series = len(self.interned)
        report.problems += problems
        report.gpu_rows += len(gpu)
        report.xid_events += len(events)
        error = f"{problems} problem(s) in values" if problems else None
        health.append(self._health(wall, t0, True, samples, error))
        for source, buffer in (("gpu", gpu), ("gpu_health", events), ("collector_health", health)):
            if len(buffer):
                report.files += self.landing.write_batch(source, self.producer, buffer.to_frame())
        return len(gpu)

    async def _query(
        self, api: PrometheusClient, query: str, start: dt.datetime, end: dt.datetime, report: BackfillReport
    ) -> list[Any]:
        """A range query, split in halves (on the step grid) while Prometheus says it is too much at once."""
        try:
            return await api.query_range(query, start, end, self.step_s)
        except TooMuchDataError:
            steps = round((end - start).total_seconds() / self.step_s)
            if steps < 1:
                raise
            report.split_queries += 1
            middle = start + dt.timedelta(seconds=(steps // 2) * self.step_s)
            left = await self._query(api, query, start, middle, report)
            right = await self._query(api, query, middle + dt.timedelta(seconds=self.step_s), end, report)
            return _merge(left + right)

    def _land_rows(
        self, results: Sequence[tuple[str, list[Any]]], start: float, gpu: Any, events: Any
    ) -> tuple[int, int]:
        """Regroup the matrices by (instance, time) and normalise each group like one scrape."""
        groups: dict[str, dict[float, tuple[list[Series], list[float]]]] = {}
        samples = 0
        for _, matrix in results:
            for entry in matrix:
                labels = dict(entry["metric"])
                name = labels.pop("__name__", "")
                instance = labels.get("instance", "")
                series = self._series(name, labels)
                by_time = groups.setdefault(instance, {})
                for t, v in entry["values"]:
                    bucket = by_time.get(t)
                    if bucket is None:
                        bucket = by_time[t] = ([], [])
                    bucket[0].append(series)
                    bucket[1].append(float(v))
                    samples += 1
        problems = 0
        scratch = gpu_buffer()
        for instance, by_time in groups.items():
            normaliser = self._normaliser(instance)
            for t in sorted(by_time):
                series_list, values = by_time[t]
                result = ExpositionResult(series_list, values, [0] * len(values), helps=self.helps)
                ts = dt.datetime.fromtimestamp(t, dt.UTC)
                seeding = t < start  # the step before the chunk: XID state only, not landed
                report = normaliser.normalise(result, ts, scratch if seeding else gpu)
                problems += 0 if seeding else len(report.problems)
                new = self.tracker.events(report.xids, ts=ts, site=self.site, source=SOURCE, producer=self.producer)
                if not seeding:
                    for row in new:
                        events.append(row)
                scratch.rows.clear()
        return samples, problems

    def _series(self, name: str, labels: dict[str, str]) -> Series:
        key = (name, tuple(sorted(labels.items())))
        series = self.interned.get(key)
        if series is None:
            series = self.interned[key] = Series(name, key[1])
        return series

    def _normaliser(self, instance: str) -> Normaliser:
        normaliser = self.normalisers.get(instance)
        if normaliser is None:
            host = instance.rsplit(":", 1)[0] if instance else URL(self.url).host or "unknown"
            normaliser = self.normalisers[instance] = Normaliser(
                site=self.site,
                node_hint=host,
                interval_s=self.step_s,
                producer=self.producer,
                source=SOURCE,
                origin=f"{self.safe_url} instance={instance}",
            )
        return normaliser

    def _health(self, wall: dt.datetime, t0: float, ok: bool, samples: int, error: str | None) -> dict[str, Any]:
        return scrape_health_row(
            ts=wall,
            site=self.site,
            source=SOURCE,
            producer=self.producer,
            target=self.safe_url,
            ok=ok,
            duration_s=time.perf_counter() - t0,
            samples=samples,
            error=error,
        )


def _merge(matrix: list[Any]) -> list[Any]:
    """Join the pieces of split queries: one entry per label set, values in time order."""
    merged: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for entry in matrix:
        key = tuple(sorted(entry["metric"].items()))
        if key in merged:
            merged[key]["values"].extend(entry["values"])
        else:
            merged[key] = {"metric": entry["metric"], "values": list(entry["values"])}
    return list(merged.values())

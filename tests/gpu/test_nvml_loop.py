"""The run loop over simulated time: cadence, batch boundaries, landing failures, restarts, stop."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pynvml
import pytest

from collectors.errors import InputError
from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.fake import FakeNvml
from collectors.gpu.nvml.fakegpu import FakeGpu
from collectors.gpu.nvml.loop import EXIT_RESTART, Cadence, LoopConfig, run
from collectors.landing import LandingZone

START = dt.datetime(2026, 11, 20, 11, 59, 35, tzinfo=dt.UTC).timestamp()


class SimulatedTime:
    """A clock and a stop signal over simulated time: waiting advances the clock instead of sleeping."""

    def __init__(self, start: float, stop_at: float) -> None:
        self.now = start
        self.stop_at = stop_at
        self.stopped = False
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        if self.now + timeout > self.stop_at:  # a tick exactly at stop_at is still sampled
            self.now, self.stopped = self.stop_at, True
        else:
            self.now += timeout
        return self.stopped

    def is_set(self) -> bool:
        return self.stopped


def node(clock: SimulatedTime, n: int = 2) -> tuple[FakeNvml, NvmlAgent]:
    nvml = FakeNvml([FakeGpu(f"GPU-{i}", util=0.5, power_mw=200_000) for i in range(n)], clock=clock)
    return nvml, NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, clock=clock)


def files(root: Path, source: str) -> list[Path]:
    return sorted((root / "landing" / source).rglob("*.parquet"))


def test_samples_on_whole_multiples_and_lands_per_minute_never_across_an_hour(tmp_path: Path) -> None:
    clock = SimulatedTime(START, stop_at=START + 105)  # 11:59:35 → 12:01:20
    _, agent = node(clock)
    result = run(agent, LandingZone(tmp_path), LoopConfig(10), clock, clock=clock)
    assert clock.waits[0] == 5  # first sample at 11:59:40, not at start-up
    assert result.samples == 11  # 11:59:40 … 12:01:20
    landed = files(tmp_path, "gpu")
    assert [p.relative_to(tmp_path / "landing" / "gpu").parts[:2] for p in landed] == [
        ("date=2026-11-20", "hour=11"),
        ("date=2026-11-20", "hour=12"),
        ("date=2026-11-20", "hour=12"),
    ]
    per_file = [pl.read_parquet(p) for p in landed]
    assert [f.height for f in per_file] == [2 * 2, 6 * 2, 3 * 2]  # :40,:50 | 12:00:00–:50 | 12:01:00–:20 (stop)
    times = sorted({t.strftime("%H:%M:%S") for f in per_file for t in f.get_column("ts").to_list()})
    assert times[:3] == ["11:59:40", "11:59:50", "12:00:00"]
    assert times[-1] == "12:01:20"
    assert (result.gpu_rows, result.files) == (22, 6)  # 3 GPU files + 3 collector-health files, no events
    assert files(tmp_path, "gpu_health") == []


def test_collector_health_has_a_row_per_sample_and_field_costs_per_batch(tmp_path: Path) -> None:
    clock = SimulatedTime(START, stop_at=START + 25)
    _, agent = node(clock)
    run(agent, LandingZone(tmp_path), LoopConfig(10), clock, clock=clock)
    health = pl.concat([pl.read_parquet(p) for p in files(tmp_path, "collector_health")])
    per_sample = health.filter(pl.col("target") == "n1").sort("ts")
    assert per_sample.get_column("ts").dt.strftime("%H:%M:%S").to_list() == ["11:59:40", "11:59:50", "12:00:00"]
    assert per_sample.get_column("ok").to_list() == [True, True, True]
    assert per_sample.get_column("samples").to_list() == [2, 2, 2]
    fields = health.filter(pl.col("target") == "field/power_w").sort("ts")
    assert fields.select("samples", "duration_s").rows() == [(4, 12e-6), (2, 12e-6)]  # per landed batch


def test_the_agent_survives_and_reports_a_lost_gpu_while_the_loop_runs(tmp_path: Path) -> None:
    clock = SimulatedTime(START, stop_at=START + 45)
    nvml, agent = node(clock)
    nvml.gpus[1].lost = True
    result = run(agent, LandingZone(tmp_path), LoopConfig(10), clock, clock=clock)
    assert result.samples == 5
    assert result.gpu_rows == 5  # GPU-0 only
    events = pl.concat([pl.read_parquet(p) for p in files(tmp_path, "gpu_health")])
    assert events.select("gpu_uuid", "event").rows() == [(None, "gpu_lost")]  # lost before the agent started
    health = pl.concat([pl.read_parquet(p) for p in files(tmp_path, "collector_health")])
    node_rows = health.filter(pl.col("target") == "n1")
    assert set(node_rows.get_column("ok")) == {False}
    assert set(node_rows.get_column("error")) == {"GPU 1: NVML_ERROR_GPU_IS_LOST"}


class FlakyLanding(LandingZone):
    """A landing zone whose disk is full for the first ``failures`` GPU writes."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def write_batch(self, source: str, producer: str, frame: pl.DataFrame) -> list[Path]:
        if source == "gpu" and self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return super().write_batch(source, producer, frame)


def test_a_batch_that_cannot_be_landed_is_kept_and_landed_later(tmp_path: Path) -> None:
    clock = SimulatedTime(START, stop_at=START + 105)
    _, agent = node(clock)
    result = run(agent, FlakyLanding(tmp_path, failures=1), LoopConfig(10), clock, clock=clock)
    assert result.failed_flushes == 1
    assert result.gpu_rows == 22  # nothing lost
    landed = pl.concat([pl.read_parquet(p) for p in files(tmp_path, "gpu")])
    assert landed.height == 22
    assert landed.select("gpu_uuid", "ts").is_unique().all()
    # The retried batch spanned two windows, yet every file still belongs to one hour.
    for path in files(tmp_path, "gpu"):
        hours = pl.read_parquet(path).get_column("ts").dt.hour().unique().to_list()
        assert hours == [int(path.parent.name.removeprefix("hour="))]


def test_a_persistent_version_mismatch_asks_for_a_restart_after_landing_what_it_has(tmp_path: Path) -> None:
    clock = SimulatedTime(START, stop_at=START + 3600)
    nvml, agent = node(clock)
    mismatch_at = START + 30  # the driver is upgraded under the agent at 12:00:05
    original = nvml.nvmlDeviceGetFieldValues

    def field_values(h: Any, ids: list[Any]) -> Any:
        if clock.now >= mismatch_at:
            nvml.mismatch = True
        return original(h, ids)

    nvml.nvmlDeviceGetFieldValues = field_values  # type: ignore[method-assign]
    result = run(agent, LandingZone(tmp_path), LoopConfig(10, restart_after_s=120), clock, clock=clock)
    assert result.exit_code == EXIT_RESTART
    assert clock.now == pytest.approx(START + 25 + 10 * 13)  # 12:00:10 mismatch, 2 min later: 12:02:10
    assert result.gpu_rows == 6  # 11:59:40, :50, 12:00:00
    events = pl.concat([pl.read_parquet(p) for p in files(tmp_path, "gpu_health")])
    assert events.select("event", "code").rows() == [("nvml_unavailable", pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH)]


def test_once_samples_now_lands_and_returns(tmp_path: Path) -> None:
    clock = SimulatedTime(START + 0.25, stop_at=START + 3600)
    _, agent = node(clock, n=3)
    result = run(agent, LandingZone(tmp_path), LoopConfig(10, once=True), clock, clock=clock)
    assert (result.samples, result.gpu_rows, clock.waits) == (1, 3, [])
    ts = pl.read_parquet(files(tmp_path, "gpu")[0]).get_column("ts").unique().to_list()
    assert ts == [dt.datetime.fromtimestamp(START + 0.25, dt.UTC)]


def test_cadence_skips_missed_ticks_and_realigns_after_the_clock_steps_back() -> None:
    now = [100.0]
    cadence = Cadence(10, lambda: now[0])
    assert cadence.first() == 100.0
    now[0] = 100.5
    assert cadence.after(100.0) == 110.0
    now[0] = 134.0  # a sample that took 24 s
    assert cadence.after(110.0) == 140.0
    assert cadence.skipped == 2  # 120 and 130 were not sampled late in a burst
    now[0] = 50.0  # wall clock stepped back
    assert cadence.after(140.0) == 50.0


def test_the_flush_window_must_divide_an_hour() -> None:
    with pytest.raises(InputError):
        LoopConfig(10, flush_every_s=70)
    with pytest.raises(InputError):
        LoopConfig(0)


def test_a_missing_pod_listing_is_reported_in_the_self_metrics_and_sampling_goes_on(tmp_path: Path) -> None:
    from collectors.gpu.nvml.procmap import PodListing, ProcessMapper

    clock = SimulatedTime(START, stop_at=START + 15)
    nvml = FakeNvml([FakeGpu("GPU-0", processes=[(4242, 1 << 30)])], clock=clock)
    pods = PodListing(tmp_path / "pods.json", clock=clock)
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, clock=clock, processes=ProcessMapper(tmp_path, pods))
    result = run(agent, LandingZone(tmp_path / "root"), LoopConfig(10), clock, clock=clock, pods=pods)
    assert result.gpu_rows == 2
    health = pl.concat([pl.read_parquet(p) for p in files(tmp_path / "root", "collector_health")])
    problem = health.filter(pl.col("target") == "pods-json")
    assert problem.select("ok", "error").rows() == [
        (False, f"{tmp_path / 'pods.json'}: cannot read the pod listing: No such file or directory")
    ]

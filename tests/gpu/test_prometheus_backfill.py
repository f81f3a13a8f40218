"""The Prometheus backfill against a real Prometheus (Debian package) holding dcgm-exporter history.

The history is written as OpenMetrics, turned into TSDB blocks by ``promtool tsdb create-blocks-from
openmetrics`` and served by ``prometheus`` on 127.0.0.1 (stopped by the fixture). Two data sets: two nodes
of two GPUs every 30 s for three hours (with a duplicate under another job and a metric the map does not
know), and one GPU every second for four hours (to meet the 11,000-points limit).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from collectors.errors import InputError
from collectors.gpu.dcgm.normalise import Normaliser
from collectors.gpu.dcgm.parse import ExpositionParser
from collectors.gpu.dcgm.render import GpuReading, render_exposition
from collectors.gpu.dcgm.rows import gpu_buffer
from collectors.gpu.dcgm.synthetic import node_readings
from collectors.gpu.prometheus.api import PrometheusClient, PrometheusError, TooMuchDataError
from collectors.gpu.prometheus.backfill import backfill, chunk_seconds, plan_range
from collectors.landing import LandingZone
from tests.gpu.prometheus_server import binaries, create_blocks, prometheus_server, write_openmetrics

pytestmark = pytest.mark.timeout(120)

T0 = dt.datetime(2026, 11, 19, 6, 0, tzinfo=dt.UTC)  # 30 s data: 06:00–09:00
T1 = dt.datetime(2026, 11, 19, 12, 0, tzinfo=dt.UTC)  # 1 s data: 12:00–16:00
NOW = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)
HOURS = 3
STEPS = HOURS * 120
XID_AT = 150  # node 1, GPU 0: XID 79 from this scrape on


@dataclass
class Server:
    url: str
    scrapes: dict[int, list[tuple[int, str]]]  # node → (unix time, exposition) as the exporter served them


def _scrape(node: int, k: int) -> str:
    readings = node_readings(node, gpus=2, scrape=k)
    if node == 1 and k >= XID_AT:
        readings[0].values = {**readings[0].values, "xid_last": 79.0}
        readings[0].xid_message = "GPU has fallen off the bus"
    return render_exposition(readings)


def _fast_series(k: int) -> str:
    reading = GpuReading("GPU-fast", 0, "dgx-fast", {"power_w": 300.0 + k % 97, "util_ratio": (k % 101) / 100})
    return render_exposition([reading], with_help=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    prometheus, promtool = binaries()
    work = tmp_path_factory.mktemp("prometheus")
    scrapes = {n: [(int(T0.timestamp()) + 30 * k, _scrape(n, k)) for k in range(STEPS)] for n in (1, 2)}
    files = []
    for node, history in scrapes.items():
        path = work / f"node{node}.om"
        write_openmetrics(path, history, f'instance="dgx-{node:04d}:9400",job="dcgm-exporter"')
        files.append(path)
    shadow = work / "shadow.om"  # the same node scraped by a second job: the selector must keep it out
    write_openmetrics(shadow, [(t, text.replace("dgx-0001", "dgx-0003")) for t, text in scrapes[1]], 'job="shadow"')
    files.append(shadow)
    other = work / "other.om"
    lines = [
        f'DCGM_FI_DEV_NVSWITCH_TEMPERATURE{{nvswitch="0",job="dcgm-exporter"}} 40 {int(T0.timestamp()) + 30 * k}'
        for k in range(10)
    ]
    other.write_text("# TYPE DCGM_FI_DEV_NVSWITCH_TEMPERATURE gauge\n" + "\n".join(lines) + "\n# EOF\n")
    files.append(other)
    fast = work / "fast.om"
    write_openmetrics(fast, [(int(T1.timestamp()) + k, _fast_series(k)) for k in range(4 * 3600)], 'job="fast"')
    files.append(fast)
    data = work / "data"
    for path in files:
        create_blocks(promtool, path, data)
    # --query.max-samples low enough that a 3-hour 1 s query (10,800 points) must be split.
    with prometheus_server(prometheus, data, max_samples=5000) as url:
        yield Server(url, scrapes)


def _gpu(root: Path) -> pl.DataFrame:
    zone = LandingZone(root)
    return zone.read_hours("gpu", zone.hours_present("gpu"))


def _live(scrapes: dict[int, list[tuple[int, str]]]) -> pl.DataFrame:
    """What the live scraper lands from the same exporter bodies."""
    buffer = gpu_buffer()
    for node, history in scrapes.items():
        parser = ExpositionParser()
        normaliser = Normaliser(site="tyo1", node_hint=f"dgx-{node:04d}", interval_s=30, producer="live")
        for t, text in history:
            normaliser.normalise(parser.parse(text), dt.datetime.fromtimestamp(t, dt.UTC), buffer)
    return buffer.to_frame()


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("source", "producer", "interval_s").sort("ts", "gpu_uuid")


def test_backfill_lands_what_live_scrapes_land(server: Server, tmp_path: Path) -> None:
    report = backfill(
        server.url,
        T0,
        T0 + dt.timedelta(hours=HOURS),
        tmp_path,
        site="tyo1",
        step=30,
        selector='job="dcgm-exporter"',
        sample_budget=12_000,
        now=NOW,
    )
    landed = _gpu(tmp_path)
    assert landed.height == 2 * 2 * STEPS
    assert_frame_equal(_comparable(landed), _comparable(_live(server.scrapes)))
    assert set(landed.get_column("source")) == {"prometheus"}
    assert set(landed.get_column("interval_s")) == {30.0}
    assert report.chunk_s == 1800.0  # ~12,000 samples for the 104 series: half an hour of 30 s steps
    assert report.chunks == 6
    assert report.gpu_rows == landed.height
    assert report.ignored_metrics == ["DCGM_FI_DEV_NVSWITCH_TEMPERATURE"]
    assert report.problems == 0
    # Pods held by the synthetic tenants came through as holders.
    assert landed.get_column("holders").list.len().sum() > 0
    events = LandingZone(tmp_path).read_hours("gpu_health", LandingZone(tmp_path).hours_present("gpu_health"))
    assert events.select("ts", "node", "event", "code", "severity", "source").rows() == [
        (T0 + dt.timedelta(seconds=30 * XID_AT), "dgx-0001", "xid", 79, "critical", "prometheus")
    ]


def test_without_a_selector_every_job_comes_in(server: Server, tmp_path: Path) -> None:
    backfill(server.url, T0, T0 + dt.timedelta(hours=1), tmp_path, site="tyo1", step=60, now=NOW)
    nodes = _gpu(tmp_path).group_by("node").len().sort("node").rows()
    assert nodes == [("dgx-0001", 120), ("dgx-0002", 120), ("dgx-0003", 120)]  # 2 GPUs × 60 steps each


def test_the_11000_points_limit_is_real_and_respected(server: Server, tmp_path: Path) -> None:
    async def naive() -> None:
        async with PrometheusClient(server.url) as api:
            await api.query_range('{__name__="DCGM_FI_DEV_POWER_USAGE"}', T1, T1 + dt.timedelta(hours=4), 1)

    with pytest.raises(TooMuchDataError, match="11,000 points"):
        asyncio.run(naive())
    report = backfill(
        server.url, T1, T1 + dt.timedelta(hours=4), tmp_path, site="tyo1", step=1, selector='job="fast"', now=NOW
    )
    landed = _gpu(tmp_path).sort("ts")
    assert landed.height == 4 * 3600
    assert landed.get_column("ts").diff().drop_nulls().unique().to_list() == [dt.timedelta(seconds=1)]
    assert landed.get_column("power_w").to_list()[:3] == [300.0, 301.0, 302.0]
    assert report.chunk_s == 3 * 3600  # 10,999 points at most, cut to whole hours
    assert report.split_queries > 0  # 10,800 points > --query.max-samples=5000: halved until accepted


def test_an_interrupted_backfill_resumes_where_it_stopped(server: Server, tmp_path: Path) -> None:
    class StopError(Exception):
        pass

    def stop_after_two(p: object) -> None:
        if p.done == 2:  # type: ignore[attr-defined]
            raise StopError

    args = {"site": "tyo1", "step": 30, "selector": 'job="dcgm-exporter"', "sample_budget": 12_000, "now": NOW}
    end = T0 + dt.timedelta(hours=HOURS)
    with pytest.raises(StopError):
        backfill(server.url, T0, end, tmp_path, progress=stop_after_two, **args)  # type: ignore[arg-type]
    assert _gpu(tmp_path).height == 2 * 2 * 120  # two half-hour chunks of both nodes
    report = backfill(server.url, T0, end, tmp_path, **args)  # type: ignore[arg-type]
    assert (report.chunks, report.skipped) == (6, 2)
    landed = _gpu(tmp_path)
    assert landed.height == 2 * 2 * STEPS
    assert landed.select("gpu_uuid", "ts").is_unique().all()


def test_running_again_lands_nothing_new_even_without_the_state_file(server: Server, tmp_path: Path) -> None:
    args = {"site": "tyo1", "step": 30, "selector": 'job="dcgm-exporter"', "sample_budget": 12_000, "now": NOW}
    end = T0 + dt.timedelta(hours=2)
    backfill(server.url, T0, end, tmp_path, **args)  # type: ignore[arg-type]
    files = sorted((tmp_path / "landing" / "gpu").rglob("*.parquet"))
    again = backfill(server.url, T0, end, tmp_path, **args)  # type: ignore[arg-type]
    assert again.skipped == again.chunks == 4
    for state in (tmp_path / "state").rglob("*.json"):
        state.unlink()
    fresh = backfill(server.url, T0 - dt.timedelta(minutes=20), end, tmp_path, **args)  # type: ignore[arg-type]
    assert fresh.skipped == 0
    assert sorted((tmp_path / "landing" / "gpu").rglob("*.parquet")) == files
    assert _gpu(tmp_path).height == 2 * 2 * 240


def test_an_unreachable_prometheus_is_an_error_with_a_health_row(tmp_path: Path) -> None:
    with pytest.raises(PrometheusError, match="Cannot connect"):
        backfill("http://127.0.0.1:9", T0, T0 + dt.timedelta(hours=1), tmp_path, site="s", retries=0, now=NOW)


def test_ranges_are_cut_to_whole_hours_before_the_lookback() -> None:
    start = dt.datetime(2026, 11, 19, 6, 20, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 19, 9, 3, tzinfo=dt.UTC)
    assert plan_range(start, now, now) == (T0, dt.datetime(2026, 11, 19, 8, 0, tzinfo=dt.UTC))
    assert plan_range(start, dt.datetime(2026, 11, 19, 7, 59, tzinfo=dt.UTC), now)[1] == T0 + dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("step", "series", "budget", "expected"),
    [
        (30, 100, 1_000_000, 83 * 3600.0),  # the 11,000 points bind: 10,999 steps, cut to whole hours
        (30, 1280, 1_000_000, 6 * 3600.0),  # 781 steps for 1,280 series
        (30, 104, 12_000, 1800.0),  # 115 steps: half an hour
        (1, 1, 10**9, 3 * 3600.0),
        (15, 200_000, 1_000_000, 75.0),  # a huge fleet: 5 steps, 48 chunks to the hour
    ],
)
def test_chunk_length(step: float, series: int, budget: int, expected: float) -> None:
    assert chunk_seconds(step, series, budget, 11_000) == expected


@pytest.mark.parametrize("step", [7, 11, 5400])
def test_steps_that_do_not_fit_hours_are_refused(step: float, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must divide an hour"):
        backfill("http://127.0.0.1:9", T0, T0 + dt.timedelta(hours=1), tmp_path, site="s", step=step, now=NOW)

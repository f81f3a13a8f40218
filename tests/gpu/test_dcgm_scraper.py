"""The async scraper against fake dcgm-exporters on 127.0.0.1: outcomes, landing, scheduling, XID events."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import aiohttp
import polars as pl
import pytest

from collectors.errors import InputError
from collectors.gpu.dcgm.fake_exporter import FakeExporter, Fault
from collectors.gpu.dcgm.render import GpuReading, render_exposition
from collectors.gpu.dcgm.scraper import DcgmScraper, start_offset
from collectors.gpu.dcgm.synthetic import node_scrape
from collectors.gpu.dcgm.targets import Target, make_target
from collectors.landing import LandingZone

pytestmark = pytest.mark.timeout(60)


def _read(root: Path, source: str) -> pl.DataFrame:
    zone = LandingZone(root)
    return zone.read_hours(source, zone.hours_present(source))


def _targets(addresses: list[str], site: str = "tyo1") -> list[Target]:
    return [make_target(a, default_site=site) for a in addresses]


def test_one_round_with_every_kind_of_failing_target(tmp_path: Path) -> None:
    faults = {
        1: Fault.SLOW,
        2: Fault.HTML,
        3: Fault.WRONG_TYPE,
        4: Fault.TRUNCATED,
        5: Fault.SERVER_ERROR,
        6: Fault.NO_NEWLINE,
    }

    async def scenario() -> tuple[list[object], float]:
        async with FakeExporter([node_scrape(n) for n in range(7)], faults=faults, slow_s=10) as exporter:
            down = "127.0.0.1:9"  # discard port: nothing listens there
            scraper = DcgmScraper(_targets([*exporter.addresses, down]), tmp_path, interval_s=5, timeout_s=1.5)
            t0 = time.monotonic()
            outcomes = await scraper.scrape_once()
            return list(outcomes), time.monotonic() - t0

    outcomes, wall = asyncio.run(scenario())
    by_index = dict(enumerate(outcomes))
    ok = {i: o.ok for i, o in by_index.items()}  # type: ignore[attr-defined]
    errors = {i: o.error or "" for i, o in by_index.items()}  # type: ignore[attr-defined]
    assert ok == {0: True, 1: False, 2: False, 3: False, 4: False, 5: False, 6: True, 7: False}
    assert errors[0] == ""
    assert errors[1] == "timed out after 1.5 s"
    assert errors[2] == "HTTP 502 Bad Gateway (HTML page)"
    assert errors[3] == "unexpected content type 'application/json', not a metrics page"
    assert errors[4].startswith("body cut off or corrupt in transfer")
    assert errors[5] == "HTTP 500 Internal Server Error"
    assert "last line dropped as cut off" in errors[6]
    assert errors[7] == "cannot connect: Connection refused"
    # The slow target cost its timeout, not the others' time.
    assert wall < 1.5 + 1.0
    assert by_index[0].duration_s < 1.0  # type: ignore[attr-defined]

    gpu = _read(tmp_path, "gpu")
    assert gpu.height == 8 + 8  # two good bodies of 8 GPUs each (the cut-off one minus its last line)
    assert set(gpu.get_column("source")) == {"dcgm"}
    health = _read(tmp_path, "collector_health").sort("target")
    assert health.height == 8
    assert health.get_column("ok").sum() == 2
    assert set(health.get_column("site")) == {"tyo1"}
    good = health.filter(pl.col("ok") & pl.col("error").is_null())
    assert good.get_column("samples").to_list() == [200]


def test_run_scrapes_every_target_each_interval_and_lands_on_stop(tmp_path: Path) -> None:
    async def scenario() -> tuple[DcgmScraper, list[int]]:
        bodies = [lambda k, n=n: node_scrape(n, gpus=2, scrape=k) for n in range(4)]
        async with FakeExporter(bodies) as exporter:  # type: ignore[arg-type]
            scraper = DcgmScraper(_targets(exporter.addresses), tmp_path, interval_s=0.5, flush_every_s=0.6)
            stop = asyncio.Event()
            task = asyncio.create_task(scraper.run(stop))
            await asyncio.sleep(1.6)
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            return scraper, [exporter.scrapes(i) for i in range(4)]

    scraper, scrapes = asyncio.run(scenario())
    assert all(3 <= n <= 5 for n in scrapes), scrapes
    gpu = _read(tmp_path, "gpu")
    assert gpu.height == 2 * sum(scrapes)
    assert scraper.totals.gpu_rows == gpu.height
    # Values move on between scrapes: the energy counter of each GPU only grows.
    for _, group in gpu.sort("ts").group_by("gpu_uuid"):
        energy = group.get_column("energy_counter_j").to_list()
        assert energy == sorted(energy)
        assert len(set(energy)) == len(energy)
    assert _read(tmp_path, "collector_health").height == sum(scrapes)


def test_start_offsets_spread_targets_and_stay_put() -> None:
    targets = [make_target(f"10.0.{i // 250}.{i % 250}:9400", default_site="s") for i in range(1000)]
    offsets = [start_offset(t, 30.0) for t in targets]
    assert offsets == [start_offset(t, 30.0) for t in targets]  # stable across restarts
    assert all(0 <= o < 30 for o in offsets)
    per_second = [sum(1 for o in offsets if s <= o < s + 1) for s in range(30)]
    assert min(per_second) > 15
    assert max(per_second) < 60
    scraper = DcgmScraper(targets, "/nonexistent", interval_s=30)
    slots = scraper._slots()
    assert len(slots) == 62  # 1000 // 16: slots of at least ~16 targets
    assert sum(len(s) for s in slots) == 1000


def test_xid_changes_land_as_gpu_health_events(tmp_path: Path) -> None:
    def body(scrape: int) -> str:
        xid = 79 if scrape >= 1 else 0
        reading = GpuReading(
            "GPU-x",
            0,
            "dgx-9",
            {"xid_last": float(xid), "temp_c": 40.0},
            xid_message="GPU has fallen off the bus" if xid else None,
        )
        return render_exposition([reading])

    async def scenario() -> None:
        async with FakeExporter([body]) as exporter:
            scraper = DcgmScraper(_targets(exporter.addresses), tmp_path, interval_s=5)
            for _ in range(3):
                await scraper.scrape_once()

    asyncio.run(scenario())
    events = _read(tmp_path, "gpu_health")
    assert events.select("node", "gpu_uuid", "event", "code", "severity", "message").rows() == [
        ("dgx-9", "GPU-x", "xid", 79, "critical", "GPU has fallen off the bus")
    ]
    assert _read(tmp_path, "gpu").get_column("xid_last").to_list() == [0, 79, 79]


@pytest.mark.parametrize("gzip", [True, False])
def test_gzip_is_asked_for_and_decoded(tmp_path: Path, gzip: bool) -> None:
    async def scenario() -> tuple[str, bool]:
        async with FakeExporter([node_scrape(1)]) as exporter:
            scraper = DcgmScraper(_targets(exporter.addresses), tmp_path, interval_s=5, gzip=gzip)
            (outcome,) = await scraper.scrape_once()
            return exporter.last_headers(0).get("Accept-Encoding", ""), outcome.ok

    encoding, ok = asyncio.run(scenario())
    assert ok
    assert encoding == ("gzip" if gzip else "identity")


def test_basic_auth(tmp_path: Path) -> None:
    async def scenario(header: str | None) -> str | None:
        async with FakeExporter([node_scrape(1)], basic_auth=("aigrid", "s3cret")) as exporter:
            scraper = DcgmScraper(_targets(exporter.addresses), tmp_path, interval_s=5, authorization=header)
            (outcome,) = await scraper.scrape_once()
            return outcome.error if not outcome.ok else None

    assert asyncio.run(scenario(None)) == "HTTP 401 Unauthorized"
    assert asyncio.run(scenario(aiohttp.encode_basic_auth("aigrid", "s3cret"))) is None


def test_settings_are_checked() -> None:
    with pytest.raises(InputError, match="below the interval"):
        DcgmScraper([], "/x", interval_s=10, timeout_s=10)
    with pytest.raises(InputError, match="interval must be positive"):
        DcgmScraper([], "/x", interval_s=0)


def test_health_rows_carry_the_scrape_time(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)

    async def scenario() -> None:
        async with FakeExporter([node_scrape(2, gpus=1)]) as exporter:
            await DcgmScraper(_targets(exporter.addresses), tmp_path, interval_s=5).scrape_once()

    asyncio.run(scenario())
    (ts,) = _read(tmp_path, "collector_health").get_column("ts").to_list()
    (gpu_ts,) = _read(tmp_path, "gpu").get_column("ts").to_list()
    assert ts == gpu_ts
    assert before <= ts <= dt.datetime.now(dt.UTC)

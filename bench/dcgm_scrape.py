"""Benchmark: scraper CPU per target per scrape, 1,000 local fake dcgm-exporters, against baselines in the same run.

A separate process serves ``--targets`` fake dcgm-exporters on 127.0.0.1 (one port each, a distinct 8-GPU
node per port whose values move on with every scrape, gzip unless ``--no-gzip``), pinned to the first CPU
when there are two or more; the scraper process is pinned to the last one. The scraper's own CPU time
(``time.process_time``: its event loop and its landing thread) is what is measured, never the server's.

Phases, each over the same targets:

1. floor: aiohttp GET and read of every target, nothing else;
2. baseline: aiohttp GET + ``prometheus_client`` parse (what a straightforward Python scraper does);
3. aigrid: :class:`collectors.gpu.dcgm.scraper.DcgmScraper` running for ``--duration`` seconds at
   ``--interval``: jittered schedule, parse, normalise, XID tracking, health rows and Parquet landing.
   The first scrape of each target (cold caches) is reported apart from the steady state.

    python -m bench.dcgm_scrape [--targets 1000] [--interval 5] [--duration 30] [--concurrency 128]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from collectors.gpu.dcgm.fake_exporter import FakeExporter
from collectors.gpu.dcgm.scraper import DcgmScraper
from collectors.gpu.dcgm.synthetic import node_scrape
from collectors.gpu.dcgm.targets import make_target
from collectors.landing import LandingZone


def _pin(which: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[0] if which == "server" else cpus[-1]})


def _body(node: int, scrape: int) -> str:
    return node_scrape(node, scrape=scrape)


def _serve(targets: int, conn: Connection) -> None:
    _pin("server")

    async def serve() -> None:
        # A fresh scrape every request: values move on as a live exporter's do (power, energy, PCIe bytes),
        # so the scraper's value and line caches get no free hits.
        bodies = [functools.partial(_body, n) for n in range(targets)]
        async with FakeExporter(bodies) as exporter:
            conn.send(exporter.addresses)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(serve())


async def _rounds(addresses: list[str], args: argparse.Namespace, parse: bool, rounds: int) -> tuple[float, int]:
    sem = asyncio.Semaphore(args.concurrency)
    connector = aiohttp.TCPConnector(limit=args.concurrency, keepalive_timeout=60)
    done = 0
    headers = {"Accept-Encoding": "identity" if args.no_gzip else "gzip"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(address: str) -> None:
            nonlocal done
            async with sem, session.get(f"http://{address}/metrics") as resp:
                body = await resp.read()
            if parse:
                for _ in text_string_to_metric_families(body.decode()):
                    pass
            done += 1

        await asyncio.gather(*(one(a) for a in addresses))  # connect and warm up, not measured
        t0 = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(one(a) for a in addresses))
        cpu = time.process_time() - t0
    return cpu, done - len(addresses)


async def _aigrid(addresses: list[str], args: argparse.Namespace, root: Path) -> dict[str, float]:
    targets = [make_target(a, default_site="bench") for a in addresses]
    scraper = DcgmScraper(
        targets,
        root,
        interval_s=args.interval,
        concurrency=args.concurrency,
        flush_every_s=args.flush,
        gzip=not args.no_gzip,
        producer="bench",
    )
    landing_cpu = [0.0]
    land = scraper._land

    def timed_land(drained: Any) -> Any:  # runs in the landing thread: its own CPU clock
        t0 = time.thread_time()
        try:
            return land(drained)
        finally:
            landing_cpu[0] += time.thread_time() - t0

    scraper._land = timed_land  # type: ignore[method-assign]
    stop = asyncio.Event()
    run = asyncio.create_task(scraper.run(stop))
    t_start = time.process_time()
    while scraper.attempts < len(targets) + args.concurrency:  # every target scraped once: caches built
        await asyncio.sleep(0.05)
    if args.gc_freeze:
        gc.freeze()  # caches built by the first scrapes are permanent: keep them out of collections
    gc_clock = _GcClock()
    t_warm = time.process_time()
    attempts_warm = scraper.attempts
    landing_warm = landing_cpu[0]
    await asyncio.sleep(args.duration)
    t_end = time.process_time()
    attempts_end = scraper.attempts
    landing_end = landing_cpu[0]
    gc_clock.stop()
    stop.set()
    await run
    zone = LandingZone(root)
    health = zone.read_hours("collector_health", zone.hours_present("collector_health"))
    durations = health.get_column("duration_s").sort()
    return {
        "cold_cpu_per_scrape": (t_warm - t_start) / max(1, attempts_warm),
        "cpu_per_scrape": (t_end - t_warm) / max(1, attempts_end - attempts_warm),
        "scrapes": attempts_end - attempts_warm,
        "ok": float(health.get_column("ok").sum()),
        "attempts": float(health.height),
        "p50_ms": float(statistics.median(durations.to_list())) * 1e3,
        "p99_ms": float(durations[int(0.99 * (len(durations) - 1))]) * 1e3,
        "gpu_rows": float(scraper.totals.gpu_rows),
        "files": float(len(scraper.totals.files)),
        "cpu_share": (t_end - t_warm) / args.duration,
        "gc_cpu_per_scrape": gc_clock.cpu / max(1, attempts_end - attempts_warm),
        "gc_full": float(gc_clock.full),
        "landing_cpu_per_scrape": (landing_end - landing_warm) / max(1, attempts_end - attempts_warm),
    }


class _GcClock:
    """CPU time spent in the garbage collector, and full (generation 2) collections, while running."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.full = 0
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.process_time()
            self.full += info["generation"] == 2
        else:
            self.cpu += time.process_time() - self._t0

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=5.0, help="scrape interval of the aigrid phase (s)")
    ap.add_argument("--duration", type=float, default=30.0, help="steady-state seconds measured")
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--flush", type=float, default=10.0, help="landing batch period (s)")
    ap.add_argument("--baseline-rounds", type=int, default=1)
    ap.add_argument("--no-gzip", action="store_true", help="ask for identity encoding in every phase")
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the first round (as the CLI does)")
    args = ap.parse_args(argv)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(args.targets, child), daemon=True)
    server.start()
    try:
        addresses: list[str] = parent.recv()
        _pin("client")
        floor_cpu, floor_n = asyncio.run(_rounds(addresses, args, False, 3))
        base_cpu, base_n = asyncio.run(_rounds(addresses, args, True, args.baseline_rounds))
        with tempfile.TemporaryDirectory() as tmp:
            aigrid = asyncio.run(_aigrid(addresses, args, Path(tmp)))
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()

    floor = floor_cpu / floor_n
    base = base_cpu / base_n
    ours = aigrid["cpu_per_scrape"]
    encoding = "identity" if args.no_gzip else "gzip"
    print(f"dcgm scraper: {args.targets} fake 8-GPU exporters on 127.0.0.1, concurrency {args.concurrency}, {encoding}")
    print(f"{'phase':58} {'CPU ms/scrape':>14} {'vs baseline':>12}")
    print(f"{'floor: aiohttp GET + read only':58} {floor * 1e3:14.3f} {base / floor:11.1f}x")
    print(f"{'baseline: aiohttp GET + prometheus_client parse':58} {base * 1e3:14.3f} {1:11.1f}x")
    print(f"{'aigrid DcgmScraper, first scrape of each target (cold)':58} {aigrid['cold_cpu_per_scrape'] * 1e3:14.3f}")
    print(f"{'aigrid DcgmScraper, steady state (parse+normalise+land)':58} {ours * 1e3:14.3f} {base / ours:11.1f}x")
    print(
        f"steady state: {aigrid['scrapes']:.0f} scrapes in {args.duration:g} s at {args.interval:g} s interval, "
        f"{aigrid['cpu_share'] * 100:.1f}% of one core; ok {aigrid['ok']:.0f}/{aigrid['attempts']:.0f}; "
        f"scrape wall p50 {aigrid['p50_ms']:.1f} ms, p99 {aigrid['p99_ms']:.1f} ms; "
        f"{aigrid['gpu_rows']:.0f} GPU rows in {aigrid['files']:.0f} files"
    )
    landing = aigrid["landing_cpu_per_scrape"] * 1e3
    print(f"of which landing (Polars frames + Parquet, its own thread) {landing:.3f} ms/scrape")
    print(
        f"of which garbage collection {aigrid['gc_cpu_per_scrape'] * 1e3:.3f} ms/scrape "
        f"({aigrid['gc_full']:.0f} full collections){' after gc.freeze()' if args.gc_freeze else ''}"
    )
    print(f"scraper process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

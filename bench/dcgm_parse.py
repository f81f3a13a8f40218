"""Benchmark: dcgm-exporter exposition parsing and normalisation, against prometheus_client in the same run.

Payload: 128 distinct synthetic 8-GPU node scrapes (default counter set, HELP/TYPE lines, Kubernetes pod
labels on busy GPUs), like shared/reference/performance.md §6. The warm parsers have seen one earlier scrape
of their target, as a scraper's parser has after its first scrape.

    python -m bench.dcgm_parse [--nodes 128] [--rounds 7]

Every round is a fresh scrape of every node (values move on, as a live exporter's do), so caches keyed on
lines or values get no free hits. Times are process CPU seconds, median over rounds, so other load on a
shared machine does not inflate them.
Prints throughput (MB/s, samples/s), time per 8-GPU scrape, peak traced memory of each phase, the process
peak RSS, and the ratios against ``prometheus_client.parser.text_string_to_metric_families``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from collectors.gpu.dcgm.normalise import Normaliser
from collectors.gpu.dcgm.parse import ExpositionParser
from collectors.gpu.dcgm.rows import gpu_buffer
from collectors.gpu.dcgm.synthetic import node_scrape


def _median_round(fn: Callable[[list[str]], int], rounds: list[list[str]]) -> tuple[float, int]:
    """Median CPU seconds of ``fn`` over the rounds (each round is a fresh scrape of every node)."""
    times = []
    count = 0
    for payloads in rounds:
        gc.collect()
        t0 = time.process_time()  # CPU time: the benchmark machine may be shared
        count = fn(payloads)
        times.append(time.process_time() - t0)
    return statistics.median(times), count


def _peak(fn: Callable[[list[str]], int], payloads: list[str]) -> int:
    gc.collect()
    tracemalloc.start()
    fn(payloads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--nodes", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=7, help="scrape rounds per phase (median reported)")
    args = ap.parse_args(argv)

    def round_of(k: int) -> list[str]:
        return [node_scrape(n, scrape=k) for n in range(args.nodes)]

    warmup = round_of(0)
    rounds = [round_of(k) for k in range(1, args.rounds + 1)]
    total_bytes = statistics.median(sum(len(p.encode()) for p in r) for r in rounds)
    parsers = [ExpositionParser(f"node-{n}") for n in range(args.nodes)]
    normalisers = [
        Normaliser(site="bench", node_hint=f"dgx-{n:04d}", interval_s=30, producer="bench") for n in range(args.nodes)
    ]
    ts = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    buffer = gpu_buffer()

    def reference(payloads: list[str]) -> int:
        return sum(len(m.samples) for p in payloads for m in text_string_to_metric_families(p))

    def cold(payloads: list[str]) -> int:
        return sum(len(ExpositionParser().parse(p)) for p in payloads)

    def warm(payloads: list[str]) -> int:
        return sum(len(parser.parse(p)) for parser, p in zip(parsers, payloads, strict=True))

    def normalised(payloads: list[str]) -> int:
        rows = 0
        for parser, normaliser, p in zip(parsers, normalisers, payloads, strict=True):
            rows += normaliser.normalise(parser.parse(p), ts, buffer).rows
        buffer.rows.clear()
        return rows

    def framed(payloads: list[str]) -> int:
        for parser, normaliser, p in zip(parsers, normalisers, payloads, strict=True):
            normaliser.normalise(parser.parse(p), ts, buffer)
        return buffer.frame_of(buffer.drain()).height

    normalised(warmup)  # first sight of every target: series keys, plans, layouts
    ref_s, samples = _median_round(reference, rounds[: max(1, len(rounds) // 2)])
    phases = [("prometheus_client text_string_to_metric_families", ref_s, _peak(reference, rounds[0]))]
    for name, fn in [
        ("aigrid parser, cold (new parser per scrape)", cold),
        ("aigrid parser, warm (target scraped before)", warm),
        ("aigrid parse + normalise to GPU rows", normalised),
        ("aigrid parse + normalise + landing frame", framed),
    ]:
        seconds, _ = _median_round(fn, rounds)
        phases.append((name, seconds, _peak(fn, rounds[0])))

    scrapes = args.nodes
    print(
        f"dcgm exposition parsing: {scrapes} distinct 8-GPU scrapes per round, {total_bytes / 1e6:.2f} MB, "
        f"{samples} samples; median of {args.rounds} fresh rounds, CPU time"
    )
    print(f"{'phase':52} {'MB/s':>8} {'samples/s':>12} {'ms/scrape':>10} {'peak MiB':>9} {'vs ref':>7}")
    for name, seconds, peak in phases:
        print(
            f"{name:52} {total_bytes / seconds / 1e6:8.1f} {samples / seconds:12,.0f} "
            f"{seconds / scrapes * 1e3:10.3f} {peak / 2**20:9.1f} {ref_s / seconds:6.1f}x"
        )
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

"""Benchmark: NVML agent cost per sample of an 8-GPU node, and the demo's 64 GPUs × 2,880 ticks.

    python -m bench.nvml_agent [--samples 3000] [--skip-demo]

No GPU was available where this was written, so NVML is the fake library (:mod:`collectors.gpu.nvml.fake`:
8 × H100 with GPM, one MIG-enabled with three instances, processes on six) and, for the demo figure, the
simulator's NVML (:mod:`collectors.simulator.nvml_sim`). The fake's own Python work is part of the time; it
is measured separately by replaying the exact calls one sample made, so the agent's own share is reported
too. On a real node each call is a driver round trip instead (reference: ~0.09 ms for a whole sample of one
GPU through NVML vs ~13.6 ms through ``nvidia-smi``).

Baselines measured in the same run:

* **unbatched**: one ``nvmlDeviceGetFieldValues`` call per field (what one getter per value costs) vs the
  agent's one batched call per GPU;
* **pynvml decode**: reading the field-value structs through ``pynvml``'s attributes vs the agent's
  :func:`~collectors.gpu.nvml.fieldvalues.decode` over the raw bytes;
* **from_dicts**: ``pl.from_dicts`` vs :func:`~collectors.gpu.nvml.frames.gpu_frame` for one hour of a node;
* **demo, library decode**: the demo-sized run with the agent forced onto the pynvml decode path.

Each scenario runs in its own child process, so its peak RSS (``getrusage``) is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

Figures = dict[str, float]


class Timed:
    """Wraps an NVML library, adding up the time spent inside its calls (the fake's own share)."""

    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        self.inside_s = 0.0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.nvml, name)
        if not name.startswith("nvml") or not callable(target):
            return target

        def call(*args: Any) -> Any:
            t = time.perf_counter()
            try:
                return target(*args)
            finally:
                self.inside_s += time.perf_counter() - t

        return call


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def node_sample(samples: int) -> Figures:
    """The agent sampling the fake 8-GPU node, ``samples`` times, 10 s of fake time apart."""
    from collectors.gpu.nvml.agent import NvmlAgent
    from collectors.gpu.nvml.fake import demo_node

    clock = [1_795_000_000.0]
    nvml = demo_node(clock=lambda: clock[0])
    agent = NvmlAgent(nvml, site="bench", node="n01", interval_s=10, clock=lambda: clock[0])
    agent.open()
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    for n in range(3):  # warm: GPM needs a previous sample, refusals are learnt on the first
        clock[0] += 10
        agent.sample_rows(start + dt.timedelta(seconds=10 * n))
    calls_before = sum(nvml.calls.values())
    rows = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(samples):
        clock[0] += 10
        rows += len(agent.sample_rows(start + dt.timedelta(seconds=10 * (n + 3)))[0])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls = (sum(nvml.calls.values()) - calls_before) / samples
    # A second, instrumented pass: how much of a sample is the fake library's own work.
    timed = Timed(nvml)
    agent.nvml = agent.calls.nvml = timed
    t = time.perf_counter()
    for n in range(samples):
        clock[0] += 10
        agent.sample_rows(start + dt.timedelta(seconds=10 * (n + 3 + samples)))
    fake_share = timed.inside_s / (time.perf_counter() - t)
    agent.close()
    return {
        "ms_per_sample": wall / samples * 1e3,
        "cpu_ms_per_sample": cpu / samples * 1e3,
        "rows_per_sample": rows / samples,
        "rows_per_s": rows / wall,
        "calls_per_sample": calls,
        "us_per_call": wall / samples / calls * 1e6,
        "fake_ms_per_sample": wall / samples * fake_share * 1e3,
        "peak_mb": _peak_mb(),
    }


def field_reads(samples: int) -> Figures:
    """Batched vs one call per field, and struct decode vs pynvml attribute decode, on the 8 GPUs."""
    from collectors.gpu.nvml.fake import demo_node
    from collectors.gpu.nvml.fieldvalues import GPU_FIELDS, decode, decode_reference

    nvml = demo_node(clock=time.time)
    nvml.nvmlInit()
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(len(nvml.gpus))]
    requests = [spec.request for spec in GPU_FIELDS]

    def timed(fn: Callable[[], object]) -> float:
        """ms per call of ``fn``: the best of five rounds (other work on the machine only ever adds time)."""
        rounds = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(max(1, samples // 5)):
                fn()
            rounds.append((time.perf_counter() - t) / max(1, samples // 5))
        return min(rounds) * 1e3

    batched = timed(lambda: [decode(nvml.nvmlDeviceGetFieldValues(h, requests)) for h in handles])
    unbatched = timed(lambda: [decode(nvml.nvmlDeviceGetFieldValues(h, [r])) for h in handles for r in requests])
    arrays = [nvml.nvmlDeviceGetFieldValues(h, requests) for h in handles]
    fast = timed(lambda: [decode(a) for a in arrays])
    library = timed(lambda: [decode_reference(a) for a in arrays])
    return {
        "batched_ms": batched,
        "unbatched_ms": unbatched,
        "calls_batched": len(handles),
        "calls_unbatched": len(handles) * len(requests),
        "decode_ms": fast,
        "library_decode_ms": library,
        "fields": len(requests),
        "peak_mb": _peak_mb(),
    }


def frames(_samples: int) -> Figures:
    """One hour of the 8-GPU node's rows (360 samples) into a landing frame: Arrow vs ``pl.from_dicts``."""
    import polars as pl

    from collectors.gpu.nvml.agent import NvmlAgent
    from collectors.gpu.nvml.fake import demo_node
    from collectors.gpu.nvml.frames import gpu_frame
    from collectors.schemas import GPU_SAMPLE

    clock = [1_795_000_000.0]
    agent = NvmlAgent(demo_node(clock=lambda: clock[0]), site="bench", node="n01", interval_s=10)
    agent.open()
    rows: list[dict[str, Any]] = []
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    for n in range(360):
        clock[0] += 10
        rows += agent.sample_rows(start + dt.timedelta(seconds=10 * n))[0]
    agent.close()
    builders: dict[str, Callable[[], pl.DataFrame]] = {
        "arrow": lambda: gpu_frame(rows),
        "dicts": lambda: pl.from_dicts(rows, schema=GPU_SAMPLE.polars_schema),
    }
    best: dict[str, float] = {}
    for label, build in builders.items():
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            build()
            runs.append(time.perf_counter() - t)
        best[label] = min(runs) * 1e3
    return {"rows": len(rows), "arrow_ms": best["arrow"], "dicts_ms": best["dicts"], "peak_mb": _peak_mb()}


def demo(library_decode: float) -> Figures:
    """The demo's GPU sampling: 2 sites × 4 nodes × 8 GPUs over 24 h at 30 s, through the simulated NVML and
    the agent, with the hourly frames and landing the simulator does (``collectors.simulator.run``)."""
    from collectors.gpu.nvml import fieldvalues
    from collectors.gpu.nvml.agent import NvmlAgent
    from collectors.gpu.nvml.frames import gpu_frame
    from collectors.gpu.nvml.procmap import PodIndex, ProcessMapper
    from collectors.landing import LandingZone
    from collectors.layout import DataRoot
    from collectors.simulator import writers
    from collectors.simulator.gpu_model import build_gpu_series
    from collectors.simulator.nvml_sim import SimulatedNvml
    from collectors.simulator.ran_model import cell_loads
    from collectors.simulator.workload import build_workload
    from collectors.simulator.world import SimConfig, build_world

    if library_decode:
        fieldvalues.FAST_LAYOUT = False
    import numpy as np

    config = SimConfig(start=dt.datetime(2026, 11, 19, tzinfo=dt.UTC), faults=True)
    root = DataRoot.at(tempfile.mkdtemp(prefix="aigrid-nvml-bench-"))
    world = build_world(config)
    workload = build_workload(world)
    writers.write_config(root, world, workload)
    proc_roots = writers.write_node_views(root, world, list(workload.jobs))
    landing = LandingZone(root)
    start = int(config.span_start.timestamp())
    periods = np.arange(start, start + config.hours * 3600, config.pm_period_s, dtype=np.int64)
    ticks = np.arange(start, start + config.hours * 3600, config.gpu_interval_s, dtype=np.int64)
    sample_s = frame_s = 0.0
    rows_total = samples = 0
    gpus = 0
    for site_no, site in enumerate(world.sites):
        site_load = cell_loads(site, periods, config.seed).mean(axis=0)
        load = site_load[np.minimum((ticks - periods[0]) // config.pm_period_s, len(site_load) - 1)]
        series = build_gpu_series(config, site, workload, load, site_no)
        pods = PodIndex.from_file(writers.sim_dir(root) / "kube" / f"{site.code}-pods.json")
        agents = []
        for n in site.nodes:
            fake = SimulatedNvml(series, n.name)
            mapper = ProcessMapper(proc_roots[n.name], pods)
            agent = NvmlAgent(fake, site=site.code, node=n.name, interval_s=config.gpu_interval_s, processes=mapper)
            agent.open()
            agents.append((agent, fake))
            gpus += len(agent.devices)
        per_hour = 3600 // config.gpu_interval_s
        for hour in range(config.hours):
            for agent, fake in agents:
                t = time.perf_counter()
                rows: list[dict[str, Any]] = []
                for tick in range(hour * per_hour, (hour + 1) * per_hour):
                    fake.at_tick(tick)
                    rows += agent.sample_rows(dt.datetime.fromtimestamp(int(series.ticks[tick]), dt.UTC))[0]
                    samples += len(agent.devices)
                t2 = time.perf_counter()
                landing.write_batch("gpu", agent.producer, gpu_frame(rows))
                sample_s += t2 - t
                frame_s += time.perf_counter() - t2
                rows_total += len(rows)
        for agent, _ in agents:
            agent.close()
    return {
        "gpus": gpus,
        "ticks": len(ticks),
        "gpu_samples": samples,
        "rows": rows_total,
        "sample_s": sample_s,
        "land_s": frame_s,
        "us_per_gpu_sample": sample_s / samples * 1e6,
        "peak_mb": _peak_mb(),
    }


def _child(fn: Callable[[Any], Figures], arg: Any) -> Figures:
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, arg).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000, help="samples of the 8-GPU node to time")
    parser.add_argument("--skip-demo", action="store_true", help="leave out the demo-sized runs (~1 min)")
    args = parser.parse_args()

    node = _child(node_sample, args.samples)
    agent_ms = node["ms_per_sample"] - node["fake_ms_per_sample"]
    print(f"8-GPU node (fake NVML: 8 × H100, one MIG GPU with 3 instances), {args.samples} samples")
    print(
        f"  {node['ms_per_sample']:.3f} ms per sample (CPU {node['cpu_ms_per_sample']:.3f} ms), "
        f"{node['rows_per_sample']:.0f} rows per sample, {node['rows_per_s']:,.0f} rows/s"
    )
    print(
        f"  {node['calls_per_sample']:.0f} NVML calls per sample, {node['us_per_call']:.1f} µs per call through the "
        f"agent; of each sample {node['fake_ms_per_sample']:.3f} ms is the fake library, {agent_ms:.3f} ms the agent"
    )
    print(f"  peak RSS {node['peak_mb']:.0f} MB")

    reads = _child(field_reads, args.samples)
    print(f"\nfield values, 8 GPUs × {reads['fields']:.0f} fields per sample")
    print(
        f"  batched: {reads['batched_ms']:.3f} ms ({reads['calls_batched']:.0f} calls); one call per field: "
        f"{reads['unbatched_ms']:.3f} ms ({reads['calls_unbatched']:.0f} calls) -> batched is "
        f"{reads['unbatched_ms'] / reads['batched_ms']:.1f}x cheaper"
    )
    print(
        f"  decode: struct {reads['decode_ms']:.3f} ms vs pynvml attributes {reads['library_decode_ms']:.3f} ms "
        f"-> {reads['library_decode_ms'] / reads['decode_ms']:.1f}x"
    )

    frame = _child(frames, 0)
    print(f"\nlanding frame, one hour of the node ({frame['rows']:.0f} rows)")
    print(
        f"  Arrow {frame['arrow_ms']:.1f} ms vs pl.from_dicts {frame['dicts_ms']:.1f} ms "
        f"-> {frame['dicts_ms'] / frame['arrow_ms']:.1f}x"
    )

    if args.skip_demo:
        return
    fast = _child(demo, 0.0)
    slow = _child(demo, 1.0)
    size = f"{fast['gpus']:.0f} GPUs × {fast['ticks']:.0f} ticks = {fast['gpu_samples']:,.0f} GPU-samples"
    print(f"\ndemo-sized run: {size}")
    for label, run in (("agent", fast), ("agent, pynvml decode (baseline)", slow)):
        print(
            f"  {label:<32} sampling {run['sample_s']:.2f} s ({run['us_per_gpu_sample']:.1f} µs per GPU-sample, "
            f"{run['rows'] / run['sample_s']:,.0f} rows/s), frames + landing {run['land_s']:.2f} s, "
            f"peak RSS {run['peak_mb']:.0f} MB"
        )
    print(f"  struct decode vs pynvml decode: {slow['sample_s'] / fast['sample_s']:.2f}x on the sampling time")


if __name__ == "__main__":
    main()

"""``aigrid simulate``: produce a whole AI-grid site set's telemetry through the real collector code paths.

GPU telemetry goes through the real collectors: on the first site (and every other) the NVML agent samples a
simulated NVML library per node; on the second (and every other) each node's dcgm-exporter ``/metrics`` body
is rendered and read by the scraper's parser and normaliser. RAN counters and facility meters are written as
the files an OSS and a BMS drop into the inbox; the pipeline's ingest reads them like any other drop. Ground
truth (who held which GPU, the exact energies) goes to ``sim/truth/`` for the tests; the pipeline never
reads it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from collectors import atomic
from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.frames import collector_frame, gpu_frame, health_frame
from collectors.gpu.nvml.procmap import PodIndex, ProcessMapper
from collectors.gpu.nvml.selfmetrics import sample_row
from collectors.landing import LandingZone
from collectors.layout import DataRoot
from collectors.simulator import dcgm_sim, writers
from collectors.simulator.facility_model import FacilitySeries, build_facility_series
from collectors.simulator.gpu_model import Fault, GpuSeries, build_gpu_series
from collectors.simulator.nvml_sim import SimulatedNvml
from collectors.simulator.ran_model import cell_loads
from collectors.simulator.workload import Workload, build_workload
from collectors.simulator.world import SimConfig, World, build_world

Progress = Callable[[str, int, int], None]


@dataclass
class SimulationResult:
    world: World
    workload: Workload
    gpu_rows: int = 0
    gpu_files: int = 0
    health_events: int = 0
    pm_files: int = 0
    meter_files: int = 0
    faults: list[Fault] = field(default_factory=list)


def simulate(config: SimConfig, root: DataRoot, progress: Progress | None = None) -> SimulationResult:
    world = build_world(config)
    workload = build_workload(world)
    result = SimulationResult(world, workload)
    writers.write_config(root, world, workload)
    proc_roots = writers.write_node_views(root, world, list(workload.jobs))
    landing = LandingZone(root)
    facility: list[FacilitySeries] = []
    total_steps = len(world.sites) * config.hours
    for site_no, site in enumerate(world.sites):
        period_epochs = _periods(config)
        loads = cell_loads(site, period_epochs, config.seed)
        ticks_load = _load_at_ticks(config, period_epochs, loads.mean(axis=0))
        series = build_gpu_series(config, site, workload, ticks_load, site_no)
        result.faults.extend(series.faults)
        pods = PodIndex.from_file(writers.sim_dir(root) / "kube" / f"{site.code}-pods.json")

        def step(done: int, site_no: int = site_no) -> None:
            if progress:
                progress("GPU telemetry (NVML agent, dcgm-exporter)", site_no * config.hours + done, total_steps)

        if site_no % 2 == 1:
            # The second site runs Kubernetes with the GPU operator: its GPUs report through dcgm-exporter.
            rows, files = dcgm_sim.sample_site(config, series, landing, step)
            result.gpu_rows += rows
            result.gpu_files += files
        else:
            _sample_gpus(config, series, landing, proc_roots, pods, result, step)
        result.pm_files += writers.write_pm_files(root, world, site_no, period_epochs, loads)
        fac = build_facility_series(config, site, series, site_no)
        result.meter_files += writers.write_meter_csv(root, fac, faults=config.faults)
        facility.append(fac)
    _write_truth(root, world, workload, facility, result.faults)
    if progress:
        progress("done", total_steps, total_steps)
    return result


def _sample_gpus(
    config: SimConfig,
    series: GpuSeries,
    landing: LandingZone,
    proc_roots: dict[str, Path],
    pods: PodIndex,
    result: SimulationResult,
    step: Callable[[int], None],
) -> None:
    """Run one NVML agent per node over the simulated clock, landing a batch per node and hour."""
    site = series.site
    agents: list[tuple[NvmlAgent, SimulatedNvml]] = []
    for node in site.nodes:
        fake = SimulatedNvml(series, node.name)
        agent = NvmlAgent(
            fake,
            site=site.code,
            node=node.name,
            interval_s=config.gpu_interval_s,
            processes=ProcessMapper(proc_roots[node.name], pods),
        )
        agent.open()
        agents.append((agent, fake))
    per_hour = 3600 // config.gpu_interval_s
    for hour in range(config.hours):
        for agent, fake in agents:
            rows: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            attempts: list[dict[str, Any]] = []
            for tick in range(hour * per_hour, (hour + 1) * per_hour):
                fake.at_tick(tick)
                ts = dt.datetime.fromtimestamp(int(series.ticks[tick]), dt.UTC)
                got, bad = agent.sample_rows(ts)
                rows.extend(got)
                events.extend(bad)
                # The agent loop's per-sample row (ok unless a GPU or NVML failed, with why); a deterministic
                # duration instead of the wall clock keeps the demo reproducible.
                cost = round(SAMPLE_BASE_S + SAMPLE_PER_GPU_S * len(fake.rows), 6)
                attempts.append(sample_row(ts, site.code, agent.producer, agent.node, cost, len(got), agent.problems))
            batch = gpu_frame(rows)
            result.gpu_rows += batch.height
            written = landing.write_batch("gpu", agent.producer, batch)
            health = landing.write_batch("collector_health", agent.producer, collector_frame(attempts))
            arrived([*written, *health], int(series.ticks[0]) + (hour + 1) * 3600 + AGENT_FLUSH_DELAY_S)
            result.gpu_files += len(written)
            if events:
                result.health_events += len(events)
                landing.write_batch("gpu_health", agent.producer, health_frame(events))
        step(hour + 1)
    for agent, _ in agents:
        agent.close()


#: When a collector's last batch of an hour reaches the landing zone, after the hour ends.
AGENT_FLUSH_DELAY_S = 30
#: Simulated cost of one agent sample: a fixed pass over the node plus NVML calls per GPU.
SAMPLE_BASE_S, SAMPLE_PER_GPU_S = 0.002, 0.0015


def arrived(paths: list[Path], epoch_s: int) -> None:
    """Give files the time they would have arrived at, so data quality can tell on-time from late data."""
    for path in paths:
        os.utime(path, (epoch_s, epoch_s))


def _periods(config: SimConfig) -> np.ndarray:
    start = int(config.span_start.timestamp())
    return np.arange(start, start + config.hours * 3600, config.pm_period_s, dtype=np.int64)


def _load_at_ticks(config: SimConfig, period_epochs: np.ndarray, site_load: np.ndarray) -> np.ndarray:
    start = int(config.span_start.timestamp())
    ticks = np.arange(start, start + config.hours * 3600, config.gpu_interval_s, dtype=np.int64)
    idx = np.minimum((ticks - period_epochs[0]) // config.pm_period_s, len(site_load) - 1)
    return np.asarray(site_load[idx])


def _write_truth(
    root: DataRoot, world: World, workload: Workload, facility: list[FacilitySeries], faults: list[Fault]
) -> None:
    truth = root.truth
    allocations = [
        {
            "site": j.site,
            "node": j.node,
            "gpu_uuid": g.uuid,
            "tenant": j.tenant,
            "namespace": j.namespace,
            "pod": j.pod,
            "kind": j.kind,
            "start": j.start,
            "end": j.end,
            "gpu_instance_id": j.gpu_instance_id,
            "slices": j.slices,
            "slurm_job": j.slurm_job,
        }
        for j in workload.jobs
        for g in j.gpus
    ]
    frame = pl.DataFrame(
        allocations,
        schema={
            "site": pl.String,
            "node": pl.String,
            "gpu_uuid": pl.String,
            "tenant": pl.String,
            "namespace": pl.String,
            "pod": pl.String,
            "kind": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
            "gpu_instance_id": pl.Int64,
            "slices": pl.Int64,
            "slurm_job": pl.String,
        },
    )
    atomic.write_parquet(truth / "allocations.parquet", frame)
    reservations = pl.DataFrame(
        [
            {"site": r.site, "gpu_uuid": g.uuid, "tenant": r.tenant, "start": r.start, "end": r.end}
            for r in workload.reservations
            for g in r.gpus
        ],
        schema={
            "site": pl.String,
            "gpu_uuid": pl.String,
            "tenant": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
        },
    )
    atomic.write_parquet(truth / "reservations.parquet", reservations)
    hourly = []
    for fac in facility:
        hours = fac.minutes // 3600
        for key in np.unique(hours):
            sel = hours == key
            hourly.append(
                {
                    "site": fac.site.code,
                    "hour": dt.datetime.fromtimestamp(int(key) * 3600, dt.UTC),
                    "it_kwh": float(fac.it_kw[sel].sum() / 60),
                    "facility_kwh": float(fac.facility_kw[sel].sum() / 60),
                    "outdoor_c_mean": float(fac.outdoor_c[sel].mean()),
                }
            )
    atomic.write_parquet(truth / "facility_hourly.parquet", pl.DataFrame(hourly))
    meta = {
        "config": {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in world.config.__dict__.items()},
        "span_start": world.config.span_start.isoformat(),
        "span_end": world.config.span_end.isoformat(),
        "rejected_jobs": workload.rejected,
        "faults": [f.as_dict() for f in faults],
    }
    atomic.write_text(truth / "simulation.json", json.dumps(meta, indent=2) + "\n")

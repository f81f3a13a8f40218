"""A simulated site whose GPUs report through dcgm-exporter: scrape bodies rendered, then read by the scraper's code.

Each node runs dcgm-exporter in Kubernetes mode (``-k``): every series carries ``pod``, ``namespace`` and
``container`` of the pod holding the GPU, as the exporter prints them. Every tick renders the node's
``/metrics`` body from the GPU model (the default counter set, legacy 4.x names, power in W, energy in mJ,
framebuffer in MiB) and feeds it to the same parser and normaliser the live scraper uses, so the demo's
second site goes through the dcgm-exporter path end to end.

Like the live scraper, every scrape attempt also lands a ``collector_health`` row (target = the exporter's
address, samples = series parsed). A node all of whose GPUs are off the bus is modelled as an exporter that
does not answer: a failed attempt with the error the scraper reports for a refused connection. Durations are a
deterministic function of the body size, so the demo is reproducible.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from collectors.gpu.dcgm.health import scrape_health_row
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.normalise import Normaliser
from collectors.gpu.dcgm.parse import ExpositionParser
from collectors.gpu.dcgm.render import GpuReading, reading_values_from_memory, render_exposition
from collectors.gpu.dcgm.rows import collector_health_buffer, gpu_buffer
from collectors.gpu.dcgm.scraper import SOURCE
from collectors.landing import LandingZone
from collectors.simulator.gpu_model import GpuSeries
from collectors.simulator.nvml_sim import DRIVER_VERSION
from collectors.simulator.world import SimConfig

PRODUCER = "dcgm-scraper@sim"
FLUSH_DELAY_S = 30
EXPORTER_PORT = 9400
#: What the scraper records when a node's exporter does not answer (``cannot connect: <strerror>``).
REFUSED = "cannot connect: Connection refused"
#: Simulated scrape cost: a fixed round trip plus parsing time per kilobyte of body.
SCRAPE_BASE_S, SCRAPE_PER_KB_S = 0.004, 0.00002


def node_readings(series: GpuSeries, node: str, tick: int) -> list[GpuReading]:
    """What the node's exporter would print at ``tick``: one reading per GPU, with its pod's labels."""
    readings = []
    total = series.site.spec.gpu_mem_bytes
    for row, gpu in enumerate(series.gpus):
        if gpu.node != node or series.lost[row, tick]:
            continue
        util = float(series.util[row, tick])
        used = float(series.mem_used[row, tick])
        values = {
            "sm_clock_hz": float(series.sm_mhz[row, tick]) * 1e6,
            "mem_clock_hz": 2619e6,
            "mem_temp_c": float(series.temp_c[row, tick]) + 4,
            "temp_c": float(series.temp_c[row, tick]),
            "power_w": float(series.power_w[row, tick]),
            "energy_counter_j": float(series.energy_mj[row, tick]) / 1000,
            "pcie_replay_total": 0.0,
            "util_ratio": util,
            "mem_util_ratio": round(util * 0.62, 2),
            "enc_util_ratio": 0.0,
            "dec_util_ratio": 0.0,
            "xid_last": 0.0,
            "gr_engine_active_ratio": round(util * 0.97, 4),
            "tensor_active_ratio": round(util * 0.55, 4),
            "dram_active_ratio": round(util * 0.41, 4),
            "remapped_rows_correctable": 0.0,
            "remapped_rows_uncorrectable": 0.0,
            "remap_failed": 0.0,
            **reading_values_from_memory(total, used, 512 << 20),
        }
        mig = series.mig.get(row)
        if mig is not None:
            # MIG mode: the board's series have no GPU_UTIL; each instance has its own activity and memory.
            for key in ("util_ratio", "mem_util_ratio", "gr_engine_active_ratio", "tensor_active_ratio"):
                values.pop(key, None)
            values.pop("dram_active_ratio", None)
        readings.append(
            GpuReading(
                uuid=gpu.uuid,
                index=gpu.index,
                hostname=node,
                values=values,
                model=gpu.model,
                pci_bus_id=gpu.pci_bus_id,
                driver_version=DRIVER_VERSION,
                holders=[] if mig is not None else _holders(series, int(series.holder[row, tick])),
            )
        )
        for inst in mig or []:
            busy = float(inst.util[tick])
            readings.append(
                GpuReading(
                    uuid=gpu.uuid,
                    index=gpu.index,
                    hostname=node,
                    values={
                        "xid_last": 0.0,
                        "gr_engine_active_ratio": busy,
                        "tensor_active_ratio": round(busy * 0.6, 4),
                        "dram_active_ratio": round(busy * 0.45, 4),
                        "mem_used_bytes": float(inst.mem_used[tick]),
                    },
                    model=gpu.model,
                    pci_bus_id=gpu.pci_bus_id,
                    driver_version=DRIVER_VERSION,
                    gpu_instance_id=inst.gpu_instance_id,
                    mig_profile=inst.profile,
                    holders=_holders(series, int(inst.holder[tick])),
                )
            )
    return readings


def _holders(series: GpuSeries, job_idx: int) -> list[dict[str, str]]:
    """Labels dcgm-exporter adds for the holder: the pod (``-k``), or the Slurm job (``--hpc-job-mapping-dir``)."""
    if job_idx < 0:
        return []
    job = series.jobs[job_idx]
    if job.slurm_job is not None:
        return [{"hpc_job": job.slurm_job}]
    return [{"pod": job.pod, "namespace": job.namespace, "container": "main"}]


def sample_site(
    config: SimConfig,
    series: GpuSeries,
    landing: LandingZone,
    step: Callable[[int], None],
) -> tuple[int, int]:
    """Scrape every node of the site each tick through the scraper's parser and normaliser; land per hour.

    Returns (GPU rows landed, files written).
    """
    site = series.site
    per_hour = 3600 // config.gpu_interval_s
    targets = {
        node.name: (
            ExpositionParser(f"{node.name}:{EXPORTER_PORT}"),
            Normaliser(
                site=site.code,
                node_hint=node.name,
                interval_s=config.gpu_interval_s,
                producer=PRODUCER,
                generation=Generation.LEGACY,
            ),
        )
        for node in site.nodes
    }
    gpus_on = {node.name: sum(1 for g in series.gpus if g.node == node.name) for node in site.nodes}
    rows = files = 0
    for hour in range(config.hours):
        buffer = gpu_buffer()
        health = collector_health_buffer()
        for tick in range(hour * per_hour, (hour + 1) * per_hour):
            ts = dt.datetime.fromtimestamp(int(series.ticks[tick]), dt.UTC)
            for node, (parser, normaliser) in targets.items():
                readings = node_readings(series, node, tick)
                if gpus_on[node] and not readings:  # every GPU off the bus: the exporter does not answer
                    health.append(_attempt(site.code, node, ts, ok=False, duration_s=SCRAPE_BASE_S, samples=0))
                    continue
                body = render_exposition(readings, generation=Generation.LEGACY)
                parsed = parser.parse(body, require_final_newline=True)
                normaliser.normalise(parsed, ts, buffer)
                duration = round(SCRAPE_BASE_S + SCRAPE_PER_KB_S * len(body) / 1024, 6)
                health.append(_attempt(site.code, node, ts, ok=True, duration_s=duration, samples=len(parsed)))
        batch = buffer.frame_of(buffer.drain())
        rows += batch.height
        written = landing.write_batch("gpu", PRODUCER, batch)
        attempts = landing.write_batch("collector_health", PRODUCER, health.to_frame())
        for path in [*written, *attempts]:  # the scraper's last flush of the hour lands just after it ends
            arrival = int(series.ticks[0]) + (hour + 1) * 3600 + FLUSH_DELAY_S
            os.utime(path, (arrival, arrival))
        files += len(written)
        step(hour + 1)
    return rows, files


def _attempt(site: str, node: str, ts: dt.datetime, *, ok: bool, duration_s: float, samples: int) -> dict[str, Any]:
    """The scraper's ``collector_health`` row for one scrape of the node's exporter."""
    return scrape_health_row(
        ts=ts,
        site=site,
        source=SOURCE,
        producer=PRODUCER,
        target=f"{node}:{EXPORTER_PORT}",
        ok=ok,
        duration_s=duration_s,
        samples=samples,
        error=None if ok else REFUSED,
    )

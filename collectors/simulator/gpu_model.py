"""Per-GPU time series of a simulated site: utilisation, power, temperature, memory, clocks, energy counter.

Physics, roughly as H100/B200 boards behave: power rises with utilisation from an idle floor (~70–90 W) to
the board limit, where the power-cap clocks-event reason is set; temperature follows power with a thermal lag;
the energy counter (mJ since driver load) integrates power exactly, so counter deltas and power × time agree.
Faults, when enabled, reload one GPU's driver (its counter restarts) and drop one GPU off the bus for a while.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from collectors.simulator.ran_model import diurnal, local_hours
from collectors.simulator.workload import MIG_LAYOUT, Job, Workload
from collectors.simulator.world import Gpu, SimConfig, Site

THROTTLE_GPU_IDLE = 0x1
THROTTLE_SW_POWER_CAP = 0x4
NODE_BASE_W = 1150.0  # CPUs, memory, NICs of a GPU server at rest
NODE_FAN_SHARE = 0.17  # fans and VRM losses grow with GPU power


@dataclass
class Fault:
    kind: str  # counter_reset | gpu_lost
    site: str
    node: str
    gpu_uuid: str
    start: dt.datetime
    end: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "site": self.site,
            "node": self.node,
            "gpu_uuid": self.gpu_uuid,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


@dataclass
class MigSlice:
    """One MIG GPU instance of a partitioned board: who holds it and how busy it is, per tick."""

    gpu_instance_id: int
    profile: str
    slices: int
    holder: np.ndarray  # index into jobs, -1 = nobody
    util: np.ndarray
    mem_used: np.ndarray


@dataclass
class GpuSeries:
    """Arrays shaped (GPUs of the site, ticks); GPU order is node by node, index by index."""

    site: Site
    ticks: np.ndarray  # epoch seconds (int64)
    interval_s: int
    gpus: list[Gpu]
    jobs: list[Job]
    holder: np.ndarray  # index into jobs, -1 = nobody
    util: np.ndarray
    power_w: np.ndarray
    temp_c: np.ndarray
    mem_used: np.ndarray
    sm_mhz: np.ndarray
    throttle: np.ndarray
    energy_mj: np.ndarray
    lost: np.ndarray
    faults: list[Fault] = field(default_factory=list)
    #: Row of a MIG-partitioned board → its instances (the board's own holder stays -1).
    mig: dict[int, list[MigSlice]] = field(default_factory=dict)

    def node_power_w(self, node: str) -> np.ndarray:
        """Whole-server power per tick: GPUs plus the rest of the box."""
        rows = [i for i, g in enumerate(self.gpus) if g.node == node]
        gpu_sum = self.power_w[rows].sum(axis=0)
        return np.asarray(NODE_BASE_W + gpu_sum * (1 + NODE_FAN_SHARE))


def tick_grid(config: SimConfig) -> np.ndarray:
    start = int(config.span_start.timestamp())
    return np.arange(start, start + config.hours * 3600, config.gpu_interval_s, dtype=np.int64)


def build_gpu_series(
    config: SimConfig, site: Site, workload: Workload, ran_load_at_ticks: np.ndarray, site_no: int
) -> GpuSeries:
    ticks = tick_grid(config)
    dt_s = config.gpu_interval_s
    gpus = site.gpus
    row_of = {g.uuid: i for i, g in enumerate(gpus)}
    shape = (len(gpus), len(ticks))
    jobs = [j for j in workload.jobs if j.site == site.code]
    holder = np.full(shape, -1, dtype=np.int32)
    util = np.zeros(shape)
    mem_frac = np.zeros(shape)
    hours = local_hours(ticks, site.tz)
    day_shape = 0.4 + 0.6 * diurnal(hours) / 1.3
    t0 = int(ticks[0])
    mig: dict[int, list[MigSlice]] = {}
    for j_idx, job in enumerate(jobs):
        i0 = _tick_index(job.start, t0, dt_s, len(ticks))
        i1 = _tick_index(job.end, t0, dt_s, len(ticks))
        if job.gpu_instance_id is not None:
            _mig_slice(mig, row_of[job.gpus[0].uuid], job, j_idx, i0, i1, day_shape, site.spec.gpu_mem_bytes, config)
            continue
        if i1 <= i0:
            continue
        seg = slice(i0, i1)
        for k, gpu in enumerate(job.gpus):
            r = row_of[gpu.uuid]
            rng = np.random.default_rng([config.seed, site_no, r, j_idx, 5])
            n = i1 - i0
            holder[r, seg] = j_idx
            mem_frac[r, seg] = job.mem_fraction
            if job.kind == "training":
                u = job.base_util + rng.normal(0, 0.025, n)
                period = (35 + (j_idx * 7 + k) % 20) * 60
                since = ticks[seg] - int(job.start.timestamp())
                u[(since % period) < 60] = 0.1  # checkpoint stalls
            elif job.kind == "inference":
                u = job.base_util * day_shape[seg] + rng.normal(0, 0.05, n)
            elif job.kind == "ran":
                u = 0.12 + 0.72 * ran_load_at_ticks[seg] + rng.normal(0, 0.02, n)
            else:
                u = job.base_util + rng.normal(0, 0.1, n)
            util[r, seg] = np.clip(u, 0.0, 1.0)
    for r, slices in mig.items():
        for gi, profile in MIG_LAYOUT:  # instances configured on the board but held by nobody
            if all(m.gpu_instance_id != gi for m in slices):
                n = len(ticks)
                slices.append(
                    MigSlice(gi, profile, int(profile[0]), np.full(n, -1, np.int32), np.zeros(n), np.zeros(n))
                )
        slices.sort(key=lambda m: m.gpu_instance_id)
        # A partitioned board draws power for the work of all its instances.
        util[r] = sum(m.util * m.slices / 7 for m in slices)
        mem_frac[r] = sum(m.mem_used for m in slices) / site.spec.gpu_mem_bytes
    util = np.round(util * 100) / 100  # NVML reports whole percent
    spec = site.spec
    rng = np.random.default_rng([config.seed, site_no, 6])
    idle = spec.gpu_idle_w * (1 + rng.normal(0, 0.03, (len(gpus), 1)))
    span = spec.gpu_max_w - idle
    power = idle + span * util**1.15 * (0.92 + 0.08 * mem_frac) + rng.normal(0, 0.012, shape) * idle
    power = np.where((holder >= 0) & (util == 0), power + 12.0, power)
    capped = power > 0.985 * spec.gpu_max_w
    power = np.where(capped, spec.gpu_max_w * (0.975 + 0.01 * rng.random(shape)), power)
    power = np.asarray(np.round(np.maximum(power, 0.5 * spec.gpu_idle_w), 3), dtype=np.float64)
    throttle = np.where(util < 0.005, THROTTLE_GPU_IDLE, 0) | np.where(capped, THROTTLE_SW_POWER_CAP, 0)
    temp = _thermal(power, spec.gpu_max_w, dt_s)
    mem_used = np.round(mem_frac * spec.gpu_mem_bytes / (1 << 20)).astype(np.int64) << 20
    sm = np.where(util > 0, np.where(capped, 1680, 1980), 345).astype(np.int32)
    counter0 = rng.integers(10**9, 5 * 10**11, size=(len(gpus), 1))
    steps = np.round(power * dt_s * 1000).astype(np.int64)
    energy = counter0 + np.concatenate([np.zeros((len(gpus), 1), np.int64), np.cumsum(steps, axis=1)[:, :-1]], axis=1)
    series = GpuSeries(
        site=site,
        ticks=ticks,
        interval_s=dt_s,
        gpus=gpus,
        jobs=jobs,
        holder=holder,
        util=util,
        power_w=power,
        temp_c=temp,
        mem_used=mem_used,
        sm_mhz=sm,
        throttle=throttle.astype(np.int64),
        energy_mj=energy,
        lost=np.zeros(shape, dtype=bool),
        mig=mig,
    )
    if config.faults and site_no == 0:
        _inject_faults(series)
    return series


def _mig_slice(
    mig: dict[int, list[MigSlice]],
    row: int,
    job: Job,
    j_idx: int,
    i0: int,
    i1: int,
    day_shape: np.ndarray,
    mem_bytes: int,
    config: SimConfig,
) -> None:
    """Add (or extend) the instance a MIG job holds; an instance nobody holds idles at 0 %."""
    n = day_shape.size
    slices = mig.setdefault(row, [])
    inst = next((m for m in slices if m.gpu_instance_id == job.gpu_instance_id), None)
    if inst is None:
        assert job.gpu_instance_id is not None
        assert job.mig_profile is not None
        inst = MigSlice(
            job.gpu_instance_id, job.mig_profile, job.slices, np.full(n, -1, np.int32), np.zeros(n), np.zeros(n)
        )
        slices.append(inst)
    if i1 <= i0:
        return
    rng = np.random.default_rng([config.seed, row, j_idx, 9])
    seg = slice(i0, i1)
    inst.holder[seg] = j_idx
    inst.util[seg] = np.clip(job.base_util * day_shape[seg] + rng.normal(0, 0.04, i1 - i0), 0.0, 1.0).round(3)
    inst.mem_used[seg] = round(job.mem_fraction * mem_bytes * job.slices / 7 / (1 << 20)) * (1 << 20)


def _tick_index(at: dt.datetime, t0: int, dt_s: int, n: int) -> int:
    return min(max(math.ceil((at.timestamp() - t0) / dt_s), 0), n)


def _thermal(power: np.ndarray, max_w: float, dt_s: int) -> np.ndarray:
    """Die temperature follows power with a ~90 s time constant."""
    target = 27.0 + 45.0 * power / max_w
    alpha = 1 - math.exp(-dt_s / 90.0)
    temp = np.empty_like(target)
    temp[:, 0] = target[:, 0]
    for i in range(1, target.shape[1]):
        temp[:, i] = temp[:, i - 1] + alpha * (target[:, i] - temp[:, i - 1])
    return np.round(temp)


def _inject_faults(series: GpuSeries) -> None:
    """A driver reload on one GPU (its energy counter restarts) and one GPU off the bus for 20 minutes."""
    n_ticks = series.ticks.size
    dt_s = series.interval_s
    if len(series.gpus) < 4 or n_ticks < 200:
        return
    reset_row, r = 3, n_ticks // 3
    # The driver reloaded half-way through the interval before tick r: the counter restarts from zero.
    restart = round(series.power_w[reset_row, r - 1] * dt_s / 2 * 1000)
    series.energy_mj[reset_row, r:] = series.energy_mj[reset_row, r:] - series.energy_mj[reset_row, r] + restart
    lost_row = len(series.gpus) - 7 if len(series.gpus) > 8 else 1
    a = n_ticks // 2
    b = min(n_ticks, a + 20 * 60 // dt_s)
    series.lost[lost_row, a:b] = True
    for kind, row, i0, i1 in (("counter_reset", reset_row, r - 1, r), ("gpu_lost", lost_row, a, b)):
        g = series.gpus[row]
        series.faults.append(
            Fault(
                kind=kind,
                site=g.site,
                node=g.node,
                gpu_uuid=g.uuid,
                start=dt.datetime.fromtimestamp(int(series.ticks[i0]), dt.UTC),
                end=dt.datetime.fromtimestamp(int(series.ticks[i1 - 1]) + dt_s, dt.UTC),
            )
        )

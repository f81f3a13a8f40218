"""Who holds which GPU when: tenants' jobs start, run and stop; the RAN is pinned; a tenant reserves GPUs.

Jobs arrive per tenant as a Poisson process, ask for 1–8 GPUs of one node, and are placed best-fit on free
GPUs (a job that does not fit is not admitted, as a real scheduler would queue it elsewhere). Start and end
times fall on whole minutes, so the GPU-hours a sampler sees equal the allocation exactly. The result is the
ground truth the tests compare the pipeline's tenancy against.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from collectors.simulator.world import (
    RAN_GPUS_PER_SITE,
    RAN_TENANT,
    RESERVATION_TENANT,
    SANDBOX_NAMESPACE,
    Gpu,
    SimConfig,
    Site,
    TenantSpec,
    World,
    stable_uuid,
)

WARM_UP = dt.timedelta(hours=24)
#: The MIG layout of the one partitioned B200 on the dcgm-exporter site: 3 + 2 + 1 + 1 = 7 slices.
MIG_LAYOUT: tuple[tuple[int, str], ...] = ((1, "3g.90gb"), (2, "2g.45gb"), (3, "1g.23gb"), (4, "1g.23gb"))
#: The reservation tenant is a university group on Slurm; its jobs carry this account in the sacct export.
SLURM_ACCOUNT = "kyoto-ai-lab"
SLURM_JOB_BASE = 700000


def reservation_end(config: SimConfig) -> dt.datetime:
    """The bare-metal lease ends inside the span, at 25 past an hour, so the GPUs change hands mid-hour."""
    return config.span_start + dt.timedelta(hours=int(config.hours * 0.7), minutes=25)


@dataclass(frozen=True)
class Job:
    """One job (pod) holding ``gpus`` from ``start`` to ``end``; ``tenant`` is the truth, not a label."""

    job_id: str
    site: str
    node: str
    gpus: tuple[Gpu, ...]
    tenant: str | None
    namespace: str
    pod: str
    pod_uid: str
    kind: str  # training | inference | ran | sandbox
    start: dt.datetime
    end: dt.datetime
    base_util: float
    mem_fraction: float
    first_pid: int
    #: A Slurm job id when the job runs under Slurm (bare metal) rather than as a Kubernetes pod.
    slurm_job: str | None = None
    #: Set for a job that holds one MIG GPU instance of its (single) GPU rather than the whole board.
    gpu_instance_id: int | None = None
    mig_profile: str | None = None

    @property
    def slices(self) -> int:
        """Compute slices of the board the job holds (7 = the whole GPU)."""
        return int(self.mig_profile.split("g.")[0]) if self.mig_profile else 7


@dataclass(frozen=True)
class Reservation:
    """GPUs leased whole to a tenant for a window, whether it runs anything on them or not."""

    tenant: str
    site: str
    gpus: tuple[Gpu, ...]
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Workload:
    jobs: tuple[Job, ...]
    reservations: tuple[Reservation, ...]
    rejected: int


def build_workload(world: World) -> Workload:
    cfg = world.config
    jobs: list[Job] = []
    reservations: list[Reservation] = []
    rejected = 0
    for site_no, site in enumerate(world.sites):
        rng = np.random.default_rng([cfg.seed, site_no, 1])
        t0 = cfg.span_start - WARM_UP
        t1 = cfg.span_end
        ran_gpus = site.nodes[0].gpus[:RAN_GPUS_PER_SITE]
        reserved: tuple[Gpu, ...] = ()
        res_end = reservation_end(cfg)
        tenant_ids = {t.id for t in world.tenants}
        if site_no == 0 and RESERVATION_TENANT in tenant_ids and len(site.nodes) >= 2:
            reserved = site.nodes[-1].gpus[4:]
            reservations.append(Reservation(RESERVATION_TENANT, site.code, reserved, t0, res_end))
        jobs.append(_ran_job(world, site, ran_gpus, t0, t1 + WARM_UP))
        mig_gpu = site.nodes[-1].gpus[-1] if site_no == 1 and len(site.nodes) >= 2 else None
        if mig_gpu is not None:
            jobs.extend(_mig_jobs(world, site, mig_gpu, t0, t1))
        # Reserved GPUs join the shared pool when the lease ends.
        free_from = {
            g.uuid: (res_end if g in reserved else t0) for g in site.gpus if g not in ran_gpus and g != mig_gpu
        }
        reserved_free = {g.uuid: t0 for g in reserved}
        arrivals = _arrivals(world, site, rng, t0, t1, bool(reserved))
        for seq, (start, tenant, namespace, kind) in enumerate(arrivals):
            in_lease = tenant is not None and tenant.id == RESERVATION_TENANT and reserved and start < res_end
            pool = reserved_free if in_lease else free_from
            k, hours, base, mem = _shape(kind, rng)
            end = start + dt.timedelta(minutes=max(15, round(hours * 60)))
            if in_lease:
                end = min(end, res_end)  # jobs inside a lease end with it
            slurm = tenant is not None and tenant.id == RESERVATION_TENANT
            placed = _place(site, pool, k, start)
            if placed is None:
                rejected += 1
                continue
            for g in placed:
                pool[g.uuid] = end
            job_id = f"{site.code}-{seq:05d}"
            name = f"{kind[:5]}-{job_id.split('-')[1]}"
            jobs.append(
                Job(
                    job_id=job_id,
                    site=site.code,
                    node=placed[0].node,
                    gpus=placed,
                    tenant=tenant.id if tenant else None,
                    namespace=namespace,
                    pod=f"{name}-{stable_uuid(cfg.seed, job_id).hex[:5]}",
                    pod_uid=str(stable_uuid(cfg.seed, "pod", job_id)),
                    kind=kind,
                    start=start,
                    end=end,
                    base_util=base,
                    mem_fraction=mem,
                    first_pid=20000 + 16 * seq,
                    slurm_job=str(SLURM_JOB_BASE + 10000 * site_no + seq) if slurm else None,
                )
            )
    return Workload(tuple(jobs), tuple(reservations), rejected)


def _mig_jobs(world: World, site: Site, gpu: Gpu, t0: dt.datetime, t1: dt.datetime) -> list[Job]:
    """Inference services on MIG instances of one board; the last 1g instance is left unused."""
    cfg = world.config
    tenants = [t for t in world.tenants if t.id != RESERVATION_TENANT] or list(world.tenants)
    plan = [
        (MIG_LAYOUT[0], tenants[0], t0, t1 + WARM_UP),
        (MIG_LAYOUT[1], tenants[min(1, len(tenants) - 1)], t0, t1 + WARM_UP),
        (MIG_LAYOUT[2], tenants[min(2, len(tenants) - 1)], cfg.span_start + dt.timedelta(minutes=40), cfg.span_end),
    ]
    jobs = []
    for n, ((gi, profile), tenant, start, end) in enumerate(plan):
        job_id = f"{site.code}-mig{gi}"
        jobs.append(
            Job(
                job_id=job_id,
                site=site.code,
                node=gpu.node,
                gpus=(gpu,),
                tenant=tenant.id,
                namespace=f"{tenant.namespace_prefix}-infer",
                pod=f"mig-infer-{gi}-{stable_uuid(cfg.seed, job_id).hex[:5]}",
                pod_uid=str(stable_uuid(cfg.seed, "pod", job_id)),
                kind="inference",
                start=start,
                end=end,
                base_util=0.45 + 0.1 * n,
                mem_fraction=0.7,
                first_pid=9000 + 8 * gi,
                gpu_instance_id=gi,
                mig_profile=profile,
            )
        )
    return jobs


def _ran_job(world: World, site: Site, gpus: tuple[Gpu, ...], start: dt.datetime, end: dt.datetime) -> Job:
    return Job(
        job_id=f"{site.code}-ran",
        site=site.code,
        node=gpus[0].node,
        gpus=gpus,
        tenant=RAN_TENANT.id,
        namespace=RAN_TENANT.namespace_prefix,
        pod="du-l1-0",
        pod_uid=str(stable_uuid(world.config.seed, "pod", site.code, "ran")),
        kind="ran",
        start=start,
        end=end,
        base_util=0.12,
        mem_fraction=0.25,
        first_pid=4000,
    )


def _arrivals(
    world: World, site: Site, rng: np.random.Generator, t0: dt.datetime, t1: dt.datetime, has_reservation: bool
) -> list[tuple[dt.datetime, TenantSpec | None, str, str]]:
    """Job arrival times per tenant (scaled to the site's size), merged in time order."""
    hours = (t1 - t0).total_seconds() / 3600
    size = len(site.gpus) / 32  # rates are per 32 GPUs
    streams: list[tuple[TenantSpec | None, float, str | None]] = [
        (t, t.jobs_per_hour * size * 0.3, None) for t in world.tenants
    ]
    streams.append((None, 0.25 * size, SANDBOX_NAMESPACE))
    out: list[tuple[dt.datetime, TenantSpec | None, str, str]] = []
    for tenant, rate, namespace in streams:
        if tenant is not None and tenant.id == RESERVATION_TENANT and has_reservation:
            rate = 0.6
        n = int(rng.poisson(rate * hours))
        offsets = np.sort(rng.uniform(0, hours * 60, n))
        for minute in offsets:
            start = t0 + dt.timedelta(minutes=math.floor(minute))
            if tenant is None:
                out.append((start, None, namespace or SANDBOX_NAMESPACE, "sandbox"))
                continue
            kind = "inference" if rng.uniform() < tenant.inference_share else "training"
            suffix = "infer" if kind == "inference" else "train"
            out.append((start, tenant, f"{tenant.namespace_prefix}-{suffix}", kind))
    out.sort(key=lambda a: (a[0], a[2]))
    return out


def _shape(kind: str, rng: np.random.Generator) -> tuple[int, float, float, float]:
    """GPUs, duration (hours), base utilisation and memory fraction of a job of this kind."""
    if kind == "inference":
        return (
            int(rng.choice([1, 2], p=[0.6, 0.4])),
            float(rng.uniform(6, 30)),
            float(rng.uniform(0.35, 0.75)),
            float(rng.uniform(0.3, 0.6)),
        )
    if kind == "sandbox":
        return 1, float(rng.uniform(0.3, 1.5)), float(rng.uniform(0.2, 0.6)), float(rng.uniform(0.1, 0.3))
    k = int(rng.choice([1, 2, 4, 8], p=[0.3, 0.3, 0.25, 0.15]))
    hours = float(np.clip(rng.lognormal(np.log(3.0), 0.7), 0.25, 16))
    return k, hours, float(rng.uniform(0.78, 0.97)), float(rng.uniform(0.6, 0.95))


def _place(site: Site, pool: dict[str, dt.datetime], k: int, start: dt.datetime) -> tuple[Gpu, ...] | None:
    """Best fit: the node with the fewest free GPUs that still has ``k``, lowest indices first."""
    best: tuple[int, list[Gpu]] | None = None
    for node in site.nodes:
        free = [g for g in node.gpus if g.uuid in pool and pool[g.uuid] <= start]
        if len(free) >= k and (best is None or len(free) < best[0]):
            best = (len(free), free[:k])
    return tuple(best[1]) if best else None

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
    Site,
    TenantSpec,
    World,
    stable_uuid,
)

WARM_UP = dt.timedelta(hours=24)


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
        tenant_ids = {t.id for t in world.tenants}
        if site_no == 0 and RESERVATION_TENANT in tenant_ids and len(site.nodes) >= 2:
            reserved = site.nodes[-1].gpus[4:]
            reservations.append(Reservation(RESERVATION_TENANT, site.code, reserved, t0, t1 + WARM_UP))
        jobs.append(_ran_job(world, site, ran_gpus, t0, t1 + WARM_UP))
        free_from = {g.uuid: t0 for g in site.gpus if g not in ran_gpus and g not in reserved}
        reserved_free = {g.uuid: t0 for g in reserved}
        arrivals = _arrivals(world, site, rng, t0, t1, bool(reserved))
        for seq, (start, tenant, namespace, kind) in enumerate(arrivals):
            pool = reserved_free if (tenant is not None and tenant.id == RESERVATION_TENANT and reserved) else free_from
            k, hours, base, mem = _shape(kind, rng)
            end = start + dt.timedelta(minutes=max(15, round(hours * 60)))
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
                )
            )
    return Workload(tuple(jobs), tuple(reservations), rejected)


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

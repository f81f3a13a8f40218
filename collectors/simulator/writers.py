"""Write the simulated site in the formats real sources use.

- operator configuration: ``config/sites.yaml``, ``tenants.yaml``, ``meters.yaml``;
- what a GPU node exposes to the NVML agent besides NVML: ``/proc/<pid>/cgroup`` files and a pod listing in
  ``kubectl get pods -o json`` format;
- TS 32.435 PM files per gNB per period into ``inbox/ran_pm/<site>/``;
- BMS meter exports (CSV, one file per site per hour) into ``inbox/meter_csv/<site>/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from collectors import atomic
from collectors.layout import DataRoot
from collectors.simulator import pm_xml
from collectors.simulator.facility_model import FacilitySeries, meter_rows
from collectors.simulator.ran_model import gnb_power_w, period_counters
from collectors.simulator.workload import SLURM_ACCOUNT, Job, Workload
from collectors.simulator.world import RAN_TENANT, RESERVATION_TENANT, World

DU_COUNTERS = (
    "RRU.PrbUsedDl",
    "RRU.PrbAvailDl",
    "RRU.PrbUsedUl",
    "RRU.PrbAvailUl",
    "RRU.PrbTotDl",
    "RRU.PrbTotUl",
    "DRB.UEThpDl",
    "DRB.UEThpUl",
    "DRB.MeanActiveUeDl",
)
SACCT_FILE = "sacct.txt"
#: Delivery delays after the period or hour ends: OSS file transfer, BMS hourly export.
PM_DELIVERY_DELAY_S = 180
METER_EXPORT_DELAY_S = 90
CU_COUNTERS = ("RRC.ConnMean", "RRC.ConnMax", "DRB.PdcpSduVolumeDL", "DRB.PdcpSduVolumeUL")


def write_config(root: DataRoot, world: World, workload: Workload) -> None:
    sites = {
        "version": 1,
        "sites": [
            {"id": s.code, "name": s.spec.name, "timezone": s.spec.timezone, "pue_target": 1.4} for s in world.sites
        ],
    }
    _yaml(root.sites_file, sites, "Sites aigrid reports on.")
    tenants: list[dict[str, Any]] = []
    for t in world.tenants:
        entry: dict[str, Any] = {"id": t.id, "name": t.name, "kind": "ai", "namespaces": [f"{t.namespace_prefix}-*"]}
        if t.id == RESERVATION_TENANT:
            entry["slurm_accounts"] = [f"{SLURM_ACCOUNT.split('-')[0]}-*"]
        res = [r for r in workload.reservations if r.tenant == t.id]
        if res:
            entry["reservations"] = [
                {
                    "gpus": [g.uuid for g in r.gpus],
                    "from": r.start.isoformat().replace("+00:00", "Z"),
                    "until": r.end.isoformat().replace("+00:00", "Z"),
                }
                for r in res
            ]
        tenants.append(entry)
    tenants.append({"id": RAN_TENANT.id, "name": RAN_TENANT.name, "kind": "ran", "namespaces": ["ran-du"]})
    slurm_jobs = [j for j in workload.jobs if j.slurm_job is not None]
    doc: dict[str, Any] = {"version": 1}
    if slurm_jobs:
        doc["slurm_jobs_file"] = SACCT_FILE
        _write_sacct(root, slurm_jobs)
    doc["tenants"] = tenants
    _yaml(
        root.tenants_file,
        doc,
        "Tenants and how their GPU use is recognised. Rules apply in order: reservations (GPU or MIG instance,\n"
        "validity window), Slurm accounts (via the sacct export), HPC job prefixes, pod names, namespaces.\n"
        "Held GPU time no rule matches is 'unattributed'; time nobody held is 'idle' (docs/tenancy.md).",
    )
    _yaml(
        root.config / "tariff.yaml",
        {
            "version": 1,
            "currency": "JPY",
            "idle_policy": "weighted",
            "energy": [
                {"price_per_kwh": 31.0, "sites": ["tyo1", "osa1"]},
                {"price_per_kwh": 24.5},
            ],
            "gpu_hour": [
                {"model": "NVIDIA H100*", "price_per_gpu_hour": 420.0},
                {"model": "NVIDIA H200*", "price_per_gpu_hour": 560.0},
                {"model": "NVIDIA B200*", "price_per_gpu_hour": 880.0},
            ],
        },
        "What a GPU-hour and a facility kWh cost (docs/tenancy.md).",
    )
    meters = [
        {
            "id": m.id,
            "site": m.site,
            "role": m.role,
            "quantity": m.quantity,
            "unit": m.unit,
            "rating_kw": m.rating_kw,
            **({"zone": m.rack} if m.rack else {}),
        }
        for s in world.sites
        for m in s.meters
    ]
    _yaml(root.meters_file, {"version": 1, "meters": meters}, "Facility meters exported by the BMS.")


def _write_sacct(root: DataRoot, jobs: list[Job]) -> None:
    """``sacct --parsable2`` export of the Slurm jobs: the job line plus its batch and first step."""
    lines = ["JobIDRaw|JobName|Account|Partition|AllocTRES|Start|End|State"]
    for job in sorted(jobs, key=lambda j: int(j.slurm_job or 0)):
        tres = f"billing={len(job.gpus)},cpu={16 * len(job.gpus)},gres/gpu={len(job.gpus)}"
        start, end = f"{job.start:%Y-%m-%dT%H:%M:%S}", f"{job.end:%Y-%m-%dT%H:%M:%S}"
        for suffix, name in (("", f"train-{job.job_id}"), (".batch", "batch"), (".0", "python")):
            lines.append(f"{job.slurm_job}{suffix}|{name}|{SLURM_ACCOUNT}|gpu|{tres}|{start}|{end}|COMPLETED")
    atomic.write_text(root.config / SACCT_FILE, "\n".join(lines) + "\n")


def write_node_views(root: DataRoot, world: World, jobs: list[Job]) -> dict[str, Path]:
    """Per site: a pod listing (kubectl format) and per node a fake /proc with each GPU process's cgroup."""
    proc_roots: dict[str, Path] = {}
    for site in world.sites:
        site_jobs = [j for j in jobs if j.site == site.code]
        items = []
        for job in site_jobs:
            if job.slurm_job is not None:
                cgroup = f"0::/system.slice/slurmstepd.scope/job_{job.slurm_job}/step_0/user/task_0\n"
                for k in range(len(job.gpus)):
                    path = sim_dir(root) / "proc" / site.code / job.node / str(job.first_pid + k) / "cgroup"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(cgroup)
                continue
            container_id = hashlib.sha256(job.job_id.encode()).hexdigest()
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": job.pod, "namespace": job.namespace, "uid": job.pod_uid},
                    "spec": {"nodeName": job.node},
                    "status": {
                        "phase": "Running",
                        "containerStatuses": [{"name": "main", "containerID": f"containerd://{container_id}"}],
                    },
                }
            )
            slice_uid = job.pod_uid.replace("-", "_")
            cgroup = (
                "0::/kubepods.slice/kubepods-burstable.slice/"
                f"kubepods-burstable-pod{slice_uid}.slice/cri-containerd-{container_id}.scope\n"
            )
            for k in range(len(job.gpus)):
                path = sim_dir(root) / "proc" / site.code / job.node / str(job.first_pid + k) / "cgroup"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(cgroup)
        listing = {"apiVersion": "v1", "kind": "List", "items": items}
        atomic.write_text(sim_dir(root) / "kube" / f"{site.code}-pods.json", json.dumps(listing, indent=1) + "\n")
        for node in site.nodes:
            proc_roots[node.name] = sim_dir(root) / "proc" / site.code / node.name
    return proc_roots


def write_pm_files(root: DataRoot, world: World, site_no: int, period_epochs: np.ndarray, loads: np.ndarray) -> int:
    """One measCollecFile per gNB per period; returns the number of files written."""
    config = world.config
    site = world.sites[site_no]
    out_dir = root.inbox("ran_pm") / site.code
    written = 0
    for gnb in site.gnbs:
        rows = [i for i, c in enumerate(site.cells) if c.gnb == gnb]
        counters = {i: period_counters(site.cells[i], loads[i], config.pm_period_s, config.seed, 0) for i in rows}
        pee_w = gnb_power_w(loads[rows])
        for p, epoch in enumerate(period_epochs):
            begin = dt.datetime.fromtimestamp(int(epoch), dt.UTC).astimezone(site.tz)
            me = f"ManagedElement={gnb}"
            du = pm_xml.MeasBlock(
                "PM=1,PmGroup=NRCellDU",
                "du-15m",
                DU_COUNTERS,
                [
                    (
                        f"{me},GNBDUFunction=1,NRCellDU={site.cells[i].local_id}",
                        [counters[i][c][p] for c in DU_COUNTERS],
                        False,
                    )
                    for i in rows
                ],
            )
            cu = pm_xml.MeasBlock(
                "PM=1,PmGroup=NRCellCU",
                "cu-15m",
                CU_COUNTERS,
                [
                    (
                        f"{me},GNBCUCPFunction=1,NRCellCU={site.cells[i].local_id}",
                        [counters[i][c][p] for c in CU_COUNTERS],
                        False,
                    )
                    for i in rows
                ],
                list_form=True,
            )
            energy_kwh = float(pee_w[p]) * config.pm_period_s / 3600 / 1000
            pee = pm_xml.MeasBlock(
                "5.1.1.19",
                "pee-15m",
                ("PEE.AvgPower", "PEE.Energy"),
                [(me, [round(float(pee_w[p]), 1), round(energy_kwh, 6)], False)],
            )
            data = pm_xml.render(
                gnb=gnb,
                dn_prefix=f"SubNetwork=JP,SubNetwork={site.code}",
                begin=begin,
                period_s=config.pm_period_s,
                blocks=[du, cu, pee],
            )
            end = begin + dt.timedelta(seconds=config.pm_period_s)
            name = pm_xml.file_name(begin, end, gnb)
            arrival = int(epoch) + config.pm_period_s + PM_DELIVERY_DELAY_S
            if config.faults and site_no == 0 and len(period_epochs) >= 8:
                if gnb == site.gnbs[0] and p == len(period_epochs) // 2:
                    data = data[: len(data) * 3 // 5]  # the OSS transfer broke off: a truncated file
                elif gnb == site.gnbs[0] and p == len(period_epochs) // 3:
                    resent = out_dir / name.replace(".xml", "_resent.xml")  # delivered twice
                    atomic.write_bytes(resent, data)
                    os.utime(resent, (arrival + 600, arrival + 600))
                elif gnb == site.gnbs[-1] and p == len(period_epochs) // 4:
                    arrival += 3 * 3600  # the OSS was down: this period's file arrives three hours late
            atomic.write_bytes(out_dir / name, data)
            os.utime(out_dir / name, (arrival, arrival))
            written += 1
    return written


def write_meter_csv(root: DataRoot, series: FacilitySeries, *, faults: bool) -> int:
    """Hourly BMS exports, ``timestamp,meter_id,value`` with local times and offsets; returns files written."""
    site = series.site
    readings: list[tuple[int, str, float]] = []
    for meter in site.meters:
        marks, values = meter_rows(series, meter)
        for t, v in zip(marks.tolist(), values.tolist(), strict=True):
            readings.append((int(t), meter.id, float(v)))
    if faults:
        readings = _meter_faults(readings, site.code)
    readings.sort()
    by_hour: dict[int, list[tuple[int, str, float]]] = {}
    for r in readings:
        by_hour.setdefault(r[0] // 3600, []).append(r)
    out_dir = root.inbox("meter_csv") / site.code
    for hour_key, rows in by_hour.items():
        start = dt.datetime.fromtimestamp(hour_key * 3600, dt.UTC).astimezone(site.tz)
        lines = ["timestamp,meter_id,value"]
        for t, meter_id, value in rows:
            local = dt.datetime.fromtimestamp(t, dt.UTC).astimezone(site.tz)
            lines.append(f"{local.isoformat()},{meter_id},{value:.3f}")
        name = f"{site.code}_meters_{start:%Y%m%dT%H%M%z}.csv"
        atomic.write_text(out_dir / name, "\n".join(lines) + "\n")
        arrival = (hour_key + 1) * 3600 + METER_EXPORT_DELAY_S
        os.utime(out_dir / name, (arrival, arrival))
    return len(by_hour)


def _meter_faults(readings: list[tuple[int, str, float]], site: str) -> list[tuple[int, str, float]]:
    """A replaced PDU meter (register restarts at 0), a 10-minute gap on the chiller meter, a duplicated row."""
    times = sorted({t for t, _, _ in readings})
    if len(times) < 200:
        return readings
    reset_at, gap_from = times[len(times) // 4], times[len(times) * 3 // 5]
    pdu = f"{site}-r01-pdu-kwh"
    before = times[times.index(reset_at) - 1]
    base = {m: v for t, m, v in readings if t == reset_at}
    prev = {m: v for t, m, v in readings if t == before}
    # The meter was swapped half-way through the minute before ``reset_at``: the new register starts at 0
    # and has counted half of that minute's energy by the next reading.
    since_swap = (base[pdu] - prev[pdu]) / 2
    out = []
    for t, m, v in readings:
        if m == pdu and t >= reset_at:
            v = round(v - base[m] + since_swap, 3)
        if m == f"{site}-chiller-kwh" and gap_from <= t < gap_from + 600:
            continue
        out.append((t, m, v))
    dup = next(r for r in out if r[0] == times[len(times) // 2])
    out.append(dup)
    return out


def sim_dir(root: DataRoot) -> Path:
    return root.path / "sim"


def _yaml(path: Path, doc: dict[str, Any], comment: str) -> None:
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    atomic.write_text(path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

"""A hand-made site whose every mart value can be worked out on paper (the answers are in test_pipeline.py).

Site ``tst1``, H100 GPUs sampled every 10 minutes for two hours (10:00–12:00 UTC, 2026-11-20), counters equal to
power × time so that energy is easy to check:

========  ====  =======  ===============================================================================
GPU       node  power    who holds it
========  ====  =======  ===============================================================================
GPU-MIG   n1    350 W    MIG: instance 1 (3g.40gb) by namespace alpha-train, instance 2 (2g.20gb) by
                         ops-sandbox (no tenant rule → unattributed), the other 2/7 of the board unused
GPU-TS    n1    500 W    time-sliced: alpha-infer at 60 % and beta at 20 % (GPU at 80 %)
GPU-RAN   n1    200 W    the RAN's DU pod (ran-du), 12 %
GPU-RES   n2    300 W    reserved by gamma until 10:25, idle until 10:20, then alpha-x at 90 %
GPU-RST   n2    400 W    Slurm job 99001 (account gamma-lab → gamma) until 10:30, then idle; its energy
                         counter resets at 10:30 (driver reload), and the 10:20 sample reads 390 W
GPU-IDL   n2     70 W    nobody; two new uncorrectable ECC errors at 10:40
========  ====  =======  ===============================================================================
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from collectors.landing import LandingZone
from collectors.layout import DataRoot
from collectors.schemas import COLLECTOR_HEALTH, GPU_HEALTH, GPU_SAMPLE
from pipelines.lib.frames import conform_to_table
from pipelines.lib.warehouse import Warehouse

SITE = "tst1"
MODEL = "NVIDIA H100 80GB HBM3"
H0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
H1 = H0 + dt.timedelta(hours=1)
STEP = 600
TICKS = range(0, 7200, STEP)

TENANTS_YAML = """\
version: 1
slurm_jobs_file: sacct.txt
tenants:
  - id: alpha
    name: Alpha AI K.K.
    namespaces: ["alpha-*"]
  - id: beta
    name: Beta Labs
    namespaces: [beta]
    hpc_job_prefixes: ["88"]
  - id: gamma
    name: Gamma University
    slurm_accounts: [gamma-lab]
    reservations:
      - gpus: [GPU-RES]
        from: 2026-11-19T00:00:00Z
        until: 2026-11-20T10:25:00Z
  - id: ai-ran
    name: AI-RAN (operator DU/L1)
    kind: ran
    namespaces: [ran-du]
"""

SACCT = """\
JobIDRaw|JobName|Account|User|State
99001|train|gamma-lab|u1|COMPLETED
99001.batch|batch|gamma-lab||COMPLETED
88123|sweep|beta-acct|u2|RUNNING
"""

TARIFF_YAML = """\
version: 1
currency: JPY
idle_policy: weighted
energy:
  - price_per_kwh: 30.0
gpu_hour:
  - model: "NVIDIA H100*"
    price_per_gpu_hour: 400.0
"""

SITES_YAML = "version: 1\nsites:\n  - {id: tst1, name: Test site, timezone: Asia/Tokyo, pue_target: 1.4}\n"
METERS_YAML = (
    "version: 1\nmeters:\n"
    "  - {id: m-utility, site: tst1, role: facility_total, quantity: energy_register, unit: kWh}\n"
    "  - {id: m-it, site: tst1, role: ups_output, quantity: energy_register, unit: kWh}\n"
)


def holder(namespace: str | None = None, job: str | None = None, util: float | None = None) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "pod": None if namespace is None else f"{namespace}-pod",
        "container": None,
        "pod_uid": None,
        "hpc_job": job,
        "pid": 4242,
        "util_ratio": util,
        "mem_used_bytes": None,
    }


def _row(uuid: str, node: str, t: int, **values: Any) -> dict[str, Any]:
    return {
        "ts": H0 + dt.timedelta(seconds=t),
        "interval_s": float(STEP),
        "site": SITE,
        "node": node,
        "gpu_index": 0,
        "gpu_uuid": uuid,
        "model": MODEL,
        "mem_total_bytes": 80 << 30,
        "temp_c": 40.0 + values.get("power_w", 0.0) / 20,
        "source": "nvml",
        "producer": f"nvml-agent@{node}",
        "holders": [],
        **values,
    }


def gpu_rows() -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for t in TICKS:
        minute = t // 60
        rows.append(_row("GPU-MIG", "n1", t, power_w=350.0, energy_counter_j=350.0 * t))
        rows.append(
            _row(
                "GPU-MIG",
                "n1",
                t,
                gpu_instance_id=1,
                mig_profile="3g.40gb",
                gr_engine_active_ratio=0.5,
                holders=[holder("alpha-train")],
            )
        )
        rows.append(
            _row(
                "GPU-MIG",
                "n1",
                t,
                gpu_instance_id=2,
                mig_profile="2g.20gb",
                gr_engine_active_ratio=0.25,
                holders=[holder("ops-sandbox")],
            )
        )
        rows.append(
            _row(
                "GPU-TS",
                "n1",
                t,
                power_w=500.0,
                energy_counter_j=500.0 * t,
                util_ratio=0.8,
                holders=[holder("alpha-infer", util=0.6), holder("beta", util=0.2)],
                throttle_reasons=0x4 if minute == 30 else 0,
            )
        )
        rows.append(
            _row(
                "GPU-RAN",
                "n1",
                t,
                power_w=200.0,
                energy_counter_j=200.0 * t,
                util_ratio=0.12,
                holders=[holder("ran-du")],
            )
        )
        res_held = minute >= 20
        rows.append(
            _row(
                "GPU-RES",
                "n2",
                t,
                power_w=300.0,
                energy_counter_j=300.0 * t,
                util_ratio=0.9 if res_held else 0.0,
                holders=[holder("alpha-x")] if res_held else [],
            )
        )
        slurm = minute < 30
        counter = 1_000_000.0 + 400.0 * t if minute < 30 else 500.0 + 400.0 * (t - 1800)
        rows.append(
            _row(
                "GPU-RST",
                "n2",
                t,
                power_w=390.0 if minute == 20 else 400.0,
                energy_counter_j=counter,
                util_ratio=0.5 if slurm else 0.0,
                holders=[holder(job="99001")] if slurm else [],
            )
        )
        rows.append(
            _row(
                "GPU-IDL",
                "n2",
                t,
                power_w=70.0,
                energy_counter_j=70.0 * t,
                util_ratio=0.0,
                ecc_uncorrected_total=2 if minute >= 40 else 0,
            )
        )
    frame = pl.from_dicts(rows, schema=GPU_SAMPLE.polars_schema, strict=False)
    return frame.with_columns(
        pl.col("gpu_uuid")
        .replace_strict(
            {"GPU-MIG": 0, "GPU-TS": 1, "GPU-RAN": 2, "GPU-RES": 0, "GPU-RST": 1, "GPU-IDL": 2}, return_dtype=pl.Int32
        )
        .alias("gpu_index")
    )


def health_rows() -> pl.DataFrame:
    row = {
        "ts": H0 + dt.timedelta(minutes=15),
        "site": SITE,
        "node": "n1",
        "gpu_uuid": "GPU-TS",
        "event": "xid",
        "code": 13,
        "severity": "Warning",
        "message": "Graphics Engine Exception",
        "source": "nvml",
        "producer": "nvml-agent@n1",
    }
    return pl.from_dicts([row], schema=GPU_HEALTH.polars_schema, strict=False)


def collector_rows() -> pl.DataFrame:
    """The agents' own attempts: n1 samples cleanly at 10:00, 10:10 and 11:00; n2 at 10:00, then fails at 10:10
    (a GPU off the bus) and 10:20 (NVML gone), so its latest error is the 10:20 one."""
    rows = []
    for node, minute, ok, error in (
        ("n1", 0, True, None),
        ("n1", 10, True, None),
        ("n1", 60, True, None),
        ("n2", 0, True, None),
        ("n2", 10, False, "GPU 2: NVML_ERROR_GPU_IS_LOST"),
        ("n2", 20, False, "NVML_ERROR_DRIVER_NOT_LOADED"),
    ):
        rows.append(
            {
                "ts": H0 + dt.timedelta(minutes=minute),
                "site": SITE,
                "source": "nvml",
                "producer": f"nvml-agent@{node}",
                "target": node,
                "ok": ok,
                "duration_s": 0.02 if ok else 0.5,
                "samples": 3 if ok else (2 if minute == 10 else 0),
                "error": error,
            }
        )
    return pl.from_dicts(rows, schema=COLLECTOR_HEALTH.polars_schema)


def build(root: DataRoot) -> None:
    """Write configuration, landing files (with file times: one late file) and the facility and RAN inputs."""
    root.config.mkdir(parents=True, exist_ok=True)
    root.tenants_file.write_text(TENANTS_YAML)
    (root.config / "sacct.txt").write_text(SACCT)
    (root.config / "tariff.yaml").write_text(TARIFF_YAML)
    root.sites_file.write_text(SITES_YAML)
    root.meters_file.write_text(METERS_YAML)
    landing = LandingZone(root)
    frame = gpu_rows()
    for node in ("n1", "n2"):
        files = landing.write_batch("gpu", f"nvml-agent@{node}", frame.filter(pl.col("node") == node))
        for f in files:
            hour_end = _hour_of(f) + dt.timedelta(hours=1)
            delay = dt.timedelta(minutes=30 if (node == "n2" and _hour_of(f) == H0) else 5)
            stamp = (hour_end + delay).timestamp()
            os.utime(f, (stamp, stamp))
    landing.write_batch("gpu_health", "nvml-agent@n1", health_rows())
    attempts = collector_rows()
    for node in ("n1", "n2"):
        producer = f"nvml-agent@{node}"
        landing.write_batch("collector_health", producer, attempts.filter(pl.col("producer") == producer))
    _quarantined_meter_file(root)
    fill_facility_and_ran(Warehouse(root.warehouse_db))


def _hour_of(path: Path) -> dt.datetime:
    day = path.parent.parent.name.removeprefix("date=")
    hour = path.parent.name.removeprefix("hour=")
    return dt.datetime.fromisoformat(f"{day}T{hour}:00:00+00:00")


def _quarantined_meter_file(root: DataRoot) -> None:
    target = root.quarantine("meter_csv") / SITE / "bms-export-1040.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("not,a,meter,export\n")
    reason = {
        "reason": "no header row",
        "file": target.name,
        "kind": "meter_csv",
        "site": SITE,
        "quarantined_at": "2026-11-20T10:40:00+00:00",
    }
    target.with_name(target.name + ".reason.json").write_text(json.dumps(reason))


def fill_facility_and_ran(wh: Warehouse) -> None:
    """Rows the facility and RAN assets would write: PUE 1.25 for 10:00 only, one of two meters, cells."""
    h0, h1 = H0.replace(tzinfo=None), H1.replace(tzinfo=None)
    hour = dt.timedelta(hours=1)
    pue = conform_to_table(
        "pue_hourly",
        pl.DataFrame({"hour": [h0], "site": [SITE], "facility_kwh": [125.0], "it_kwh": [100.0], "pue": [1.25]}),
    )
    wh.replace_partition("pue_hourly", pue, h0, h0 + hour)
    meters = conform_to_table(
        "meter_reading",
        pl.DataFrame(
            {
                "ts": [h0 + dt.timedelta(minutes=m) for m in (0, 15, 30, 45)],
                "site": [SITE] * 4,
                "meter_id": ["m-utility"] * 4,
                "energy_kwh": [1000.0, 1031.0, 1062.0, 1093.0],
            }
        ),
    )
    wh.replace_partition("meter_reading", meters, h0, h0 + hour)
    cells = conform_to_table(
        "ran_cell_hourly",
        pl.DataFrame(
            {
                "hour": [h0, h0],
                "site": [SITE, SITE],
                "managed_element": ["gnb-1", "gnb-1"],
                "cell": ["c1", "c2"],
                "covered_s": [3600.0, 1800.0],
                "prb_util_dl_ratio": [0.4, 0.2],
                "prb_util_ul_ratio": [0.1, 0.1],
                "volume_dl_mbit": [1000.0, 500.0],
                "volume_ul_mbit": [100.0, 50.0],
            }
        ),
    )
    wh.replace_partition("ran_cell_hourly", cells, h0, h0 + hour)
    for start, cells_now in ((h0, ["c1", "c2"]), (h1, ["c1"])):
        pm = conform_to_table(
            "ran_pm_record",
            pl.DataFrame(
                {
                    "period_start": [start + dt.timedelta(minutes=15 * p) for p in range(4) for _ in cells_now],
                    "period_end": [start + dt.timedelta(minutes=15 * (p + 1)) for p in range(4) for _ in cells_now],
                    "granularity_s": [900] * (4 * len(cells_now)),
                    "site": [SITE] * (4 * len(cells_now)),
                    "managed_element": ["gnb-1"] * (4 * len(cells_now)),
                    "measured_object": [f"NRCellDU={c}" for _ in range(4) for c in cells_now],
                    "cell": [c for _ in range(4) for c in cells_now],
                    "counter": ["RRU.PrbUsedDl"] * (4 * len(cells_now)),
                    "value": [10.0] * (4 * len(cells_now)),
                    "source_format": ["ts32435"] * (4 * len(cells_now)),
                    "producer": ["pm"] * (4 * len(cells_now)),
                }
            ),
        )
        wh.replace_partition("ran_pm_record", pm, start, start + hour)

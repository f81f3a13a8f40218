"""Synthetic GPU fleet landing data for the mart benchmarks (generated with DuckDB, written as landing files).

A fleet of N GPUs (8 per node, one NVML-agent landing file per node and hour, as the agent flushes) sampled
every 10 s with 20 metrics of the landing schema and Kubernetes holders: per GPU and hour a job level (30–99 %
utilisation) with ±5 % jitter per sample; about 15 % of GPU-hours idle, 10 % time-sliced between two tenants,
3 % in a namespace no tenant rule matches, two RAN GPUs per 16 nodes; 16 tenants. Power follows utilisation
(70–700 W, H100-like) with ±3 W noise, and the energy counter integrates the hour's mean power, continuing
across hours, so the pipeline's counter path is the one exercised. Deterministic: hashes, no random state.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from collectors.landing import safe_producer

TENANTS = 16
HOLDER_TYPE = (
    "STRUCT(namespace VARCHAR, pod VARCHAR, container VARCHAR, pod_uid VARCHAR, hpc_job VARCHAR, pid BIGINT, "
    "util_ratio DOUBLE, mem_used_bytes BIGINT)"
)

TENANTS_YAML = (
    "version: 1\ntenants:\n"
    + "".join(
        f"  - id: tenant-{i:02d}\n    name: Tenant {i:02d}\n    namespaces: ['t{i:02d}-*']\n" for i in range(TENANTS)
    )
    + "  - id: ai-ran\n    name: AI-RAN\n    kind: ran\n    namespaces: [ran-du]\n"
)

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

SITES_YAML = "version: 1\nsites:\n  - {id: bench, name: Benchmark site, timezone: UTC, pue_target: 1.4}\n"

#: Per GPU and hour: job level, holder kind, the hour's mean power. Parameters: hour index (×2), GPUs.
_LEVELS_SQL = """
SELECT g,
    hash(g, ?) AS hk,
    CASE WHEN (g // 8) % 16 = 0 AND g % 8 < 2 THEN 'ran'
         WHEN hash(g, ?, 'k') % 100 < 15 THEN 'idle'
         WHEN hash(g, ?, 'k') % 100 < 25 THEN 'sliced'
         WHEN hash(g, ?, 'k') % 100 < 28 THEN 'sandbox'
         ELSE 'job' END AS kind
FROM range(?) t(g)
"""

_HOUR_SQL = f"""
WITH lv AS (
    SELECT l.*,
        CASE WHEN kind = 'idle' THEN 0 WHEN kind = 'ran' THEN 12 ELSE CAST(30 + hk % 70 AS INTEGER) END AS level,
           CAST((hk // 7) % {TENANTS} AS INTEGER) AS t1, CAST((hk // 131) % {TENANTS} AS INTEGER) AS t2
    FROM levels l
), p AS (
    SELECT lv.*, 70.0 + 6.3 * level AS hour_power_w, o.counter_j
    FROM lv JOIN offsets o USING (g)
)
SELECT
    ?::TIMESTAMPTZ + to_seconds(s * 10) AS ts,
    CAST(10.0 AS DOUBLE) AS interval_s,
    'bench' AS site,
    'node-' || lpad(CAST(g // 8 AS VARCHAR), 5, '0') AS node,
    CAST(g % 8 AS INTEGER) AS gpu_index,
    'GPU-' || lpad(CAST(g AS VARCHAR), 8, '0') || '-bench' AS gpu_uuid,
    'NVIDIA H100 80GB HBM3' AS model,
    greatest(0, least(100, level + CASE WHEN level = 0 THEN 0 ELSE CAST(hash(g, s, 'u') % 11 AS INTEGER) - 5 END))
        / 100.0
        AS util_ratio,
    (hash(g, s, 'm') % 30) / 100.0 AS mem_util_ratio,
    CAST((20 + level % 60) AS BIGINT) * 1073741824 AS mem_used_bytes,
    CAST(85899345920 AS BIGINT) AS mem_total_bytes,
    round(hour_power_w + (CAST(hash(g, s, 'p') % 601 AS INTEGER) - 300) / 100.0, 2) AS power_w,
    counter_j + hour_power_w * 10.0 * s AS energy_counter_j,
    CAST(round(35.0 + level * 0.4 + (hash(g, s, 't') % 21) / 10.0, 1) AS DOUBLE) AS temp_c,
    CAST(round(40.0 + level * 0.35, 1) AS DOUBLE) AS mem_temp_c,
    CAST(1.98e9 - CASE WHEN level > 95 THEN 2e8 ELSE 0 END AS DOUBLE) AS sm_clock_hz,
    CAST(2.619e9 AS DOUBLE) AS mem_clock_hz,
    CAST(CASE WHEN level > 95 AND s % 6 = 0 THEN 4 ELSE 0 END AS BIGINT) AS throttle_reasons,
    CAST(CASE WHEN level = 0 THEN 8 ELSE 0 END AS INTEGER) AS pstate,
    CAST(700.0 AS DOUBLE) AS power_limit_w,
    CAST(0 AS BIGINT) AS ecc_corrected_total,
    CAST(0 AS BIGINT) AS ecc_uncorrected_total,
    level * 1.2e8 AS pcie_tx_bytes_s,
    level * 0.9e8 AS pcie_rx_bytes_s,
    level / 100.0 AS gr_engine_active_ratio,
    level / 160.0 AS tensor_active_ratio,
    level / 250.0 AS dram_active_ratio,
    CAST(CASE
        WHEN kind = 'idle' THEN []
        WHEN kind = 'ran' THEN [{{'namespace': 'ran-du', 'pod': 'du-l1-0', 'container': 'l1', 'pod_uid': NULL,
                                 'hpc_job': NULL, 'pid': 4000, 'util_ratio': NULL, 'mem_used_bytes': NULL}}]
        WHEN kind = 'sandbox' THEN [{{'namespace': 'ops-sandbox', 'pod': 'try-' || g, 'container': 'main',
                                     'pod_uid': NULL, 'hpc_job': NULL, 'pid': 5000, 'util_ratio': NULL,
                                     'mem_used_bytes': NULL}}]
        WHEN kind = 'sliced' THEN [
            {{'namespace': 't' || lpad(CAST(t1 AS VARCHAR), 2, '0') || '-infer', 'pod': 'a-' || g,
              'container': 'main', 'pod_uid': NULL, 'hpc_job': NULL, 'pid': 6000, 'util_ratio': level * 0.007,
              'mem_used_bytes': NULL}},
            {{'namespace': 't' || lpad(CAST(t2 AS VARCHAR), 2, '0') || '-infer', 'pod': 'b-' || g,
              'container': 'main', 'pod_uid': NULL, 'hpc_job': NULL, 'pid': 6001, 'util_ratio': level * 0.003,
              'mem_used_bytes': NULL}}]
        ELSE [{{'namespace': 't' || lpad(CAST(t1 AS VARCHAR), 2, '0') || '-train', 'pod': 'job-' || g,
                'container': 'main', 'pod_uid': NULL, 'hpc_job': NULL, 'pid': 7000, 'util_ratio': NULL,
                'mem_used_bytes': NULL}}]
    END AS {HOLDER_TYPE}[]) AS holders,
    'nvml' AS source,
    'nvml-agent@node-' || lpad(CAST(g // 8 AS VARCHAR), 5, '0') AS producer,
    g // 8 AS node_part
FROM p, range(360) r(s)
"""


def write_config(root: Path) -> None:
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "tenants.yaml").write_text(TENANTS_YAML)
    (config / "tariff.yaml").write_text(TARIFF_YAML)
    (config / "sites.yaml").write_text(SITES_YAML)


def generate(root: Path, gpus: int, start: dt.datetime, hours: int, *, threads: int | None = None) -> int:
    """Land ``hours`` hours of ``gpus`` GPUs under ``root``; returns the rows written."""
    write_config(root)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(
        "CREATE TABLE offsets AS SELECT g, CAST(hash(g) % 1000000000 AS DOUBLE) AS counter_j FROM range(?) t(g)", [gpus]
    )
    rows = 0
    try:
        for h in range(hours):
            hour = start + dt.timedelta(hours=h)
            con.execute("CREATE OR REPLACE TABLE levels AS " + _LEVELS_SQL, [h, h, h, h, gpus])
            tmp = root / ".bench-tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            con.execute(
                f"COPY ({_HOUR_SQL} ORDER BY node_part, ts, gpu_index) TO '{tmp}' "
                "(FORMAT parquet, PARTITION_BY (node_part), COMPRESSION zstd, OVERWRITE_OR_IGNORE)",
                [hour],
            )
            _move_to_landing(root, tmp, hour)
            con.execute(
                "UPDATE offsets SET counter_j = counter_j + 3600.0 * (70.0 + 6.3 * lv.level) "
                "FROM (SELECT g, CASE WHEN kind = 'idle' THEN 0 WHEN kind = 'ran' THEN 12 ELSE 30 + hk % 70 END "
                "AS level FROM levels) lv WHERE offsets.g = lv.g"
            )
            rows += gpus * 360
    finally:
        con.close()
    return rows


def _move_to_landing(root: Path, tmp: Path, hour: dt.datetime) -> None:
    target = root / "landing" / "gpu" / f"date={hour:%Y-%m-%d}" / f"hour={hour:%H}"
    target.mkdir(parents=True, exist_ok=True)
    for part in sorted(tmp.iterdir()):
        node = int(part.name.removeprefix("node_part="))
        producer = safe_producer(f"nvml-agent@node-{node:05d}")
        files = sorted(part.glob("*.parquet"))
        for seq, f in enumerate(files):
            os.replace(f, target / f"{producer}-{hour:%Y%m%dT%H%M%SZ}-{seq:04d}.parquet")
    shutil.rmtree(tmp, ignore_errors=True)

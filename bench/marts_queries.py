"""30-day questions on the serving file of a 1,024-GPU site: each should answer in ≤ 50 ms.

The serving file is built the way the pipeline publishes it (``Warehouse.publish`` with the serving views) from
30 days of marts synthesised in DuckDB: 737,280 GPU-hours with 101-bin utilisation histograms, the daily GPU and
node rollups computed from them by the pipeline's own functions, hourly tenant usage, hourly PUE, last values.
Each question is asked the way the SQL cookbook asks it; the baseline is the same question answered from the
finer table (GPU-hours instead of the mart made for the question), timed in the same run.

Timing: "cold" = a new read-only connection per query (process-cold, page cache warm); "warm" = the median of
10 runs on one connection; p95 of the warm runs too.

``python -m bench.marts_queries [--gpus N] [--days D] [--workdir DIR]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.defs.serving.views import SERVING_VIEWS
from pipelines.lib.rollups import gpu_daily, node_daily
from pipelines.lib.warehouse import Warehouse
from pipelines.tables import serving_tables

TARGET_MS = 50.0
END = dt.datetime(2026, 11, 20)
TENANTS = 16

GPU_HOURLY_SQL = """
WITH g AS (
    SELECT gpu, hr, CAST(30 + hash(gpu, hr // 6) % 70 AS INTEGER) AS level
    FROM range(?) a(gpu), range(?) b(hr)
)
SELECT ?::TIMESTAMP + to_hours(hr) AS hour, 'bench' AS site, 'node-' || lpad(CAST(gpu // 8 AS VARCHAR), 4, '0') AS node,
    'GPU-' || lpad(CAST(gpu AS VARCHAR), 6, '0') AS gpu_uuid, CAST(gpu % 8 AS INTEGER) AS gpu_index,
    'NVIDIA H100 80GB HBM3' AS model, 360 AS samples, 3600.0 AS sample_s, level / 100.0 AS util_mean_ratio,
    (level + 2) / 100.0 AS util_max_ratio, 360 AS util_samples, 3.6 * level AS util_sum_ratio,
    list_transform(range(101), i -> CAST(CASE abs(i - level) WHEN 0 THEN 144 WHEN 1 THEN 72 WHEN 2 THEN 36 ELSE 0 END
        AS INTEGER)) AS util_hist,
    36.0 * level AS busy_s, 70 + 6.3 * level AS power_mean_w, 75 + 6.3 * level AS power_max_w,
    (70 + 6.3 * level) / 1000 AS energy_kwh, 0.0 AS energy_estimated_s, 35 + 0.4 * level + (hash(gpu, hr) % 50) / 10.0
    AS temp_max_c, CAST(40 AS BIGINT) * 1073741824 AS mem_used_max_bytes,
    CAST(85899345920 AS BIGINT) AS mem_total_bytes,
    CASE WHEN level > 95 THEN 120.0 ELSE 0.0 END AS throttled_s, CASE WHEN level > 95 THEN 120.0 ELSE 0.0 END
    AS throttle_sw_power_s, 0.0 AS throttle_hw_slowdown_s, 0.0 AS throttle_sw_thermal_s, 0.0 AS throttle_hw_thermal_s,
    0.0 AS throttle_power_brake_s, CAST(0 AS BIGINT) AS xid_events, CAST(0 AS BIGINT) AS mig_instances
FROM g
"""

TENANT_HOURLY_SQL = f"""
SELECT ?::TIMESTAMP + to_hours(hr) AS hour, 'bench' AS site, 'tenant-' || lpad(CAST(t AS VARCHAR), 2, '0') AS tenant,
    'NVIDIA H100 80GB HBM3' AS model, 'ai' AS kind, 50.0 + hash(t, hr) % 20 AS gpu_hours,
    (50.0 + hash(t, hr) % 20) * 0.6 AS busy_gpu_hours, 0.6 AS utilisation_ratio, 0.0 AS reserved_gpu_hours,
    (50.0 + hash(t, hr) % 20) * 0.45 AS gpu_energy_kwh, 1.3 AS pue
FROM range({TENANTS}) a(t), range(?) b(hr)
"""

QUESTIONS = {
    "(a) GPU-hours and mean utilisation per tenant, 30 d": (
        "SELECT tenant, sum(gpu_hours), sum(busy_gpu_hours) / sum(gpu_hours) FROM tenant_usage_hourly "
        "WHERE hour > (SELECT max(hour) FROM tenant_usage_hourly) - INTERVAL 30 DAY GROUP BY tenant",
        None,
    ),
    "(b) p95 utilisation per node per day": (
        "SELECT day, site, node, util_p95_ratio FROM v_node_day ORDER BY day, site, node",
        """WITH bins AS (SELECT node, CAST(hour AS DATE) AS day, i - 1 AS pct, sum(util_hist[i]) AS n
                         FROM gpu_hourly, range(1, 102) AS r(i) GROUP BY ALL),
                cum AS (SELECT *, sum(n) OVER (PARTITION BY node, day ORDER BY pct) AS running,
                               sum(n) OVER (PARTITION BY node, day) AS total FROM bins)
           SELECT node, day, min(pct) FILTER (WHERE running >= greatest(1, ceil(0.95 * total))) FROM cum
           GROUP BY ALL""",
    ),
    "(c) hourly PUE": ("SELECT site, hour, pue FROM pue_hourly ORDER BY site, hour", None),
    "(d) top-10 hottest GPUs in the last hour": (
        "SELECT site, node, gpu_index, temp_max_c FROM gpu_hourly WHERE hour = (SELECT max(hour) FROM gpu_hourly) "
        "ORDER BY temp_max_c DESC LIMIT 10",
        None,
    ),
    "(e) last value per GPU": (
        "SELECT site, gpu_uuid, ts, util_ratio, power_w, temp_c FROM gpu_last",
        "SELECT site, gpu_uuid, arg_max(util_mean_ratio, hour), arg_max(temp_max_c, hour) FROM gpu_hourly GROUP BY ALL",
    ),
}


def build(root: Path, gpus: int, days: int) -> Path:
    """Synthesise the marts in a warehouse and publish the serving file; returns its path."""
    wh = Warehouse(root / "warehouse.duckdb")
    hours = days * 24
    start = END - dt.timedelta(hours=hours)
    with wh.session():
        wh.replace_partition_sql("gpu_hourly", GPU_HOURLY_SQL, [gpus, hours, start], start, END)
        for d in range(days):
            day = start + dt.timedelta(days=d)
            daily = gpu_daily(wh.read_partition("gpu_hourly", day, day + dt.timedelta(days=1)))
            wh.replace_partition("gpu_daily", daily, day.date(), (day + dt.timedelta(days=1)).date())
            wh.replace_partition("node_daily", node_daily(daily), day.date(), (day + dt.timedelta(days=1)).date())
        usage = (
            "SELECT *, gpu_energy_kwh * (pue - 1) AS overhead_kwh, gpu_energy_kwh * pue AS facility_energy_kwh, "
            "0.0 AS hours_without_pue, NULL AS currency, NULL AS gpu_hour_cost, NULL AS energy_cost, NULL AS cost, "
            "NULL AS gpu_hour_price, NULL AS energy_price FROM (" + TENANT_HOURLY_SQL + ")"
        )
        wh.replace_partition_sql("tenant_usage_hourly", usage, [start, hours], start, END)
        wh.replace_partition_sql(
            "pue_hourly",
            "SELECT ?::TIMESTAMP + to_hours(hr) AS hour, 'bench' AS site, 400.0 AS facility_kwh, 300.0 AS it_kwh, "
            "290.0 AS gpu_kwh, 10.0 AS other_it_kwh, 90.0 AS cooling_kwh, 400.0 / 300 AS pue, 1.3 AS cooling_ppue, "
            "2 AS category, 1.0 AS coverage_ratio, false AS low_coverage FROM range(?) r(hr)",
            [start, hours],
            start,
            END,
        )
        last = wh.query(
            "SELECT site, node, gpu_uuid, gpu_index, model, hour + INTERVAL 3590 SECOND AS ts, util_mean_ratio AS "
            "util_ratio, power_mean_w AS power_w, temp_max_c AS temp_c, mem_used_max_bytes AS mem_used_bytes, "
            "mem_total_bytes, NULL AS holder FROM gpu_hourly WHERE hour = (SELECT max(hour) FROM gpu_hourly)"
        )
        wh.replace_all("gpu_last", last)
        return wh.publish(root / "serving.duckdb", serving_tables(), SERVING_VIEWS)


def _time(path: Path, sql: str) -> tuple[float, float, float]:
    """(cold ms, warm median ms, warm p95 ms)."""
    t = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    con.execute(sql).fetchall()
    cold = (time.perf_counter() - t) * 1000
    warm = []
    for _ in range(10):
        t = time.perf_counter()
        con.execute(sql).fetchall()
        warm.append((time.perf_counter() - t) * 1000)
    con.close()
    warm.sort()
    return cold, statistics.median(warm), warm[int(0.95 * (len(warm) - 1))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.marts_queries")
    parser.add_argument("--gpus", type=int, default=1024)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="aigrid-bench-queries-"))
    try:
        t = time.perf_counter()
        serving = build(base, args.gpus, args.days)
        print(
            f"{args.gpus:,} GPUs × {args.days} days: {args.gpus * args.days * 24:,} GPU-hours; serving file "
            f"{serving.stat().st_size / 1e6:.0f} MB built in {time.perf_counter() - t:.0f} s (not timed below)"
        )
        print(f"{'question':<50} {'cold':>8} {'warm':>8} {'p95':>8}   baseline (finer table) warm   ratio")
        worst = 0.0
        for label, (sql, finer) in QUESTIONS.items():
            cold, warm, p95 = _time(serving, sql)
            worst = max(worst, cold, p95)
            line = f"{label:<50} {cold:6.1f}ms {warm:6.1f}ms {p95:6.1f}ms"
            if finer:
                _, finer_warm, _ = _time(serving, finer)
                line += f"   {finer_warm:8.1f} ms                {finer_warm / warm:6.0f}×"
            print(line)
        verdict = "meets" if worst <= TARGET_MS else "misses"
        print(f"slowest answer {worst:.1f} ms (cold or p95) {verdict} the {TARGET_MS:.0f} ms aim")
    finally:
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Helpers shared by the mart benchmarks: run a pipeline stage set or a bare DuckDB rollup in a child process
(so each figure carries its own peak RSS), and print results in one format.

Not a benchmark itself (no ``main``): ``python -m bench`` skips it.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Bare DuckDB rollup of landed GPU files: the same facts per GPU and hour a plain warehouse would keep
#: (count, mean/max utilisation and power, energy from power, max temperature and memory).
BARE_ROLLUP_SQL = """
CREATE TABLE bare_gpu_hourly AS
SELECT gpu_uuid, date_trunc('hour', ts) AS hour, count(*) AS samples,
       avg(util_ratio) AS util_mean, max(util_ratio) AS util_max, avg(power_w) AS power_mean_w,
       max(power_w) AS power_max_w, sum(power_w * interval_s) / 3.6e6 AS energy_kwh,
       max(temp_c) AS temp_max_c, max(mem_used_bytes) AS mem_used_max_bytes
FROM read_parquet(?)
GROUP BY ALL
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: list[str], timeout_s: float = 3600) -> dict[str, Any]:
    """Run ``python -m bench.marts_run <args>`` and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.marts_run", *args], capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {done.stderr.strip().splitlines()[-5:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bare_rollup(root: Path) -> dict[str, Any]:
    import duckdb

    files = sorted(str(p) for p in (root / "landing" / "gpu").glob("date=*/hour=*/*.parquet"))
    target = root / "bare.duckdb"
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(target))
    try:
        con.execute(BARE_ROLLUP_SQL, [files])
        rows = con.execute("SELECT sum(samples) FROM bare_gpu_hourly").fetchone()
    finally:
        con.close()
    return {"seconds": time.perf_counter() - start, "rows": int(rows[0]) if rows else 0, "peak_rss_mb": peak_rss_mb()}


def pipeline(root: Path, start: dt.datetime, end: dt.datetime, stages: list[str]) -> dict[str, Any]:
    """Materialise the named demo stages over [start, end) through Dagster, on an ephemeral instance."""
    import dagster as dg

    from aigrid.demo import STAGES
    from aigrid.runner import run_stage
    from pipelines.definitions import build_definitions

    defs = build_definitions(str(root))
    instance = dg.DagsterInstance.ephemeral()
    timings: dict[str, float] = {}
    steps: dict[str, float] = {}
    total = time.perf_counter()
    for stage in STAGES:
        if stage.title in stages:
            t = time.perf_counter()
            result = run_stage(defs, stage, instance, start, end)
            timings[stage.title] = time.perf_counter() - t
            steps.update(_step_seconds(instance, result.run_id))
    return {"seconds": time.perf_counter() - total, "stages": timings, "steps": steps, "peak_rss_mb": peak_rss_mb()}


def _step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Wall time of each step of a run, from its event log (start to success or failure)."""
    marks: dict[str, list[float]] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.step_key and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
            marks.setdefault(event.step_key, []).append(record.timestamp)
    return {k: max(v) - min(v) for k, v in marks.items()}


def direct(root: Path, partition_key: str) -> dict[str, Any]:
    """The hourly assets, then the on-change ones, called directly (no run, no event log): pipeline compute."""
    import dagster as dg

    from pipelines.defs.gpu.assets import dim_gpu, gpu_hourly, gpu_last, gpu_sample
    from pipelines.defs.gpu.health import gpu_health_events
    from pipelines.defs.quality.assets import data_quality
    from pipelines.defs.serving.assets import serving_db
    from pipelines.defs.tenancy.assets import gpu_tenant_hourly, tenant_usage_hourly
    from pipelines.defs.tenancy.rollups import ai_ran_share_hourly
    from pipelines.resources import DataRootResource, WarehouseResource

    site = DataRootResource(root=str(root))
    wh = WarehouseResource(path=str(root / "warehouse" / "warehouse.duckdb"))
    steps: dict[str, float] = {}
    total = time.perf_counter()
    hourly: tuple[tuple[str, Callable[[dg.AssetExecutionContext], object]], ...] = (
        ("gpu_sample", lambda c: gpu_sample(c, site, wh)),
        ("gpu_health_events", lambda c: gpu_health_events(c, site, wh)),
        ("gpu_hourly", lambda c: gpu_hourly(c, wh)),
        ("gpu_tenant_hourly", lambda c: gpu_tenant_hourly(c, site, wh)),
        ("tenant_usage_hourly", lambda c: tenant_usage_hourly(c, site, wh)),
        ("ai_ran_share_hourly", lambda c: ai_ran_share_hourly(c, wh)),
        ("data_quality", lambda c: data_quality(c, site, wh)),
    )
    for name, fn in hourly:
        t = time.perf_counter()
        fn(dg.build_asset_context(partition_key=partition_key))
        steps[name] = time.perf_counter() - t
    on_change: tuple[tuple[str, Callable[[], object]], ...] = (
        ("gpu_last", lambda: gpu_last(wh)),
        ("dim_gpu", lambda: dim_gpu(wh)),
        ("serving_db", lambda: serving_db(site, wh)),
    )
    for name, call in on_change:
        t = time.perf_counter()
        call()
        steps[name] = time.perf_counter() - t
    return {"seconds": time.perf_counter() - total, "steps": steps, "peak_rss_mb": peak_rss_mb()}


def summary(label: str, runs: list[dict[str, Any]], rows: int) -> str:
    secs = [r["seconds"] for r in runs]
    best, median = min(secs), statistics.median(secs)
    rss = max(r["peak_rss_mb"] for r in runs)
    return (
        f"{label:<44} best {best:7.2f} s  median {median:7.2f} s  {rows / best / 1e6:6.2f} M rows/s  "
        f"peak RSS {rss:7.0f} MB"
    )


def _main() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    kind, root = sys.argv[1], Path(sys.argv[2])
    if kind == "bare":
        out = bare_rollup(root)
    elif kind == "direct":
        out = direct(root, sys.argv[3])
    elif kind == "pipeline":
        start = dt.datetime.fromisoformat(sys.argv[3])
        end = dt.datetime.fromisoformat(sys.argv[4])
        out = pipeline(root, start, end, sys.argv[5].split("|"))
    else:
        raise SystemExit(f"unknown child kind {kind}")
    print(json.dumps(out))


if __name__ == "__main__":
    _main()

"""A 24-hour backfill of a 10,000-GPU site at 10 s: 86.4 M landed rows through every mart in Dagster runs.

The hourly assets run as one backfill run over 24 partitions (``BackfillPolicy.single_run``), then the daily
marts for the day, then the on-change assets (monthly usage, inventories, serving file), through
``dg.materialize`` on an ephemeral instance, checks included, in a child process whose peak RSS is reported.
The baseline is a bare DuckDB rollup of the same files timed in the same run. Generating the landing data is
timed separately and is not part of the figure.

``python -m bench.marts_backfill [--gpus N] [--hours H] [--workdir DIR] [--keep]``;
aim: ≤ 5 minutes and ≤ 8 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.marts_data import generate
from bench.marts_run import child, summary

START = dt.datetime(2026, 11, 19, 0, tzinfo=dt.UTC)
TARGET_S = 300.0
TARGET_RSS_MB = 8 * 1024
STAGES = "dimensions|hourly facts|daily marts|inventories, serving file and dashboards"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.marts_backfill")
    parser.add_argument("--gpus", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--workdir", type=Path, default=None, help="keep data here (re-used if already generated)")
    parser.add_argument("--keep", action="store_true", help="do not delete the work directory afterwards")
    args = parser.parse_args(argv)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="aigrid-bench-backfill-"))
    root = base / "root"
    marker = root / f".generated-{args.gpus}x{args.hours}"
    try:
        if not marker.exists():
            shutil.rmtree(root, ignore_errors=True)
            t = time.perf_counter()
            generate(root, args.gpus, START, args.hours)
            marker.touch()
            print(f"generated landing data in {time.perf_counter() - t:.0f} s (not part of the figures)")
        rows = args.gpus * 360 * args.hours
        files = len(list((root / "landing" / "gpu").rglob("*.parquet")))
        size = sum(f.stat().st_size for f in (root / "landing").rglob("*.parquet")) / 1e9
        print(
            f"{args.gpus:,} GPUs × {args.hours} h at 10 s = {rows:,} rows, {files:,} files, {size:.2f} GB Parquet; "
            f"{os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.2f}"
        )
        bare = child(["bare", str(root)])
        for sub in ("warehouse", "serving"):
            shutil.rmtree(root / sub, ignore_errors=True)
        end = START + dt.timedelta(hours=args.hours)
        run = child(["pipeline", str(root), START.isoformat(), end.isoformat(), STAGES], timeout_s=3 * 3600)
        print(summary("baseline: bare DuckDB rollup", [bare], rows))
        print(summary("backfill through Dagster (all marts)", [run], rows))
        print("by stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in run["stages"].items()))
        slowest = sorted(run["steps"].items(), key=lambda kv: -kv[1])[:12]
        print("slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
        print(f"ratio backfill / baseline: {run['seconds'] / bare['seconds']:.1f}×")
        warehouse = root / "warehouse" / "warehouse.duckdb"
        serving = root / "serving" / "current.duckdb"
        sizes = f"{warehouse.stat().st_size / 1e9:.2f} GB, serving file {serving.stat().st_size / 1e6:.0f} MB"
        print(f"warehouse file {sizes}")
        time_ok = "meets" if run["seconds"] <= TARGET_S else "misses"
        rss_ok = "meets" if run["peak_rss_mb"] <= TARGET_RSS_MB else "misses"
        print(
            f"{run['seconds']:.0f} s {time_ok} the {TARGET_S:.0f} s aim; peak RSS {run['peak_rss_mb'] / 1024:.1f} GB "
            f"{rss_ok} the {TARGET_RSS_MB / 1024:.0f} GB aim"
        )
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

"""One hourly partition from landing to the published serving file: 1,024 GPUs × 20 metrics at 10 s.

368,640 landed rows (one file per 8-GPU node, as the NVML agents flush) go through every hourly asset (clean
samples and holders, health events, GPU-hour facts with histograms, attribution, tenant usage with PUE and
cost, AI-RAN split, data quality) and the on-change ones (last values, inventory, serving file). Three
figures, each from a fresh warehouse in its own process (peak RSS per figure):

- baseline: a bare DuckDB rollup of the same files (per GPU-hour count, mean/max utilisation and power,
  energy, max temperature and memory) into a DuckDB file;
- pipeline compute: the same asset functions called directly, as Dagster calls them, without a run;
- Dagster run: the demo's stages through ``dg.materialize`` on an ephemeral instance (checks included).

``python -m bench.marts_hour [--gpus N] [--repeat R] [--workdir DIR]``; aim: ≤ 3 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

from bench.marts_data import generate
from bench.marts_run import child, summary

START = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
TARGET_S = 3.0
STAGES = "dimensions|hourly facts|inventories, serving file and dashboards"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.marts_hour")
    parser.add_argument("--gpus", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="aigrid-bench-hour-"))
    root = base / "root"
    try:
        shutil.rmtree(root, ignore_errors=True)
        rows = generate(root, args.gpus, START, 1)
        files = len(list((root / "landing" / "gpu").rglob("*.parquet")))
        print(
            f"{args.gpus} GPUs × 360 samples × 20 metrics = {rows:,} rows in {files} landed files; "
            f"{os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.2f}"
        )
        bare = [child(["bare", str(root)]) for _ in range(args.repeat)]
        direct = []
        for _ in range(args.repeat):
            _fresh(root)
            direct.append(child(["direct", str(root), f"{START:%Y-%m-%d-%H:00}"]))
        runs = []
        for _ in range(args.repeat):
            _fresh(root)
            runs.append(
                child(["pipeline", str(root), START.isoformat(), (START + dt.timedelta(hours=1)).isoformat(), STAGES])
            )
        print(summary("baseline: bare DuckDB rollup", bare, rows))
        print(summary("pipeline compute (assets called directly)", direct, rows))
        print(summary("Dagster run (ephemeral instance, checks)", runs, rows))
        best_bare = min(r["seconds"] for r in bare)
        best_direct = min(r["seconds"] for r in direct)
        best_run = min(r["seconds"] for r in runs)
        print(
            f"ratio pipeline compute / baseline: {best_direct / best_bare:.1f}×; Dagster run / baseline: "
            f"{best_run / best_bare:.1f}×"
        )
        fastest = min(direct, key=lambda r: r["seconds"])
        print("pipeline compute by asset: " + ", ".join(f"{k} {v:.2f} s" for k, v in fastest["steps"].items()))
        quickest = min(runs, key=lambda r: r["seconds"])
        print("Dagster run by stage: " + ", ".join(f"{k} {v:.2f} s" for k, v in quickest["stages"].items()))
        verdict = "meets" if best_direct <= TARGET_S else "misses"
        print(f"landing → serving file (pipeline compute) {best_direct:.2f} s {verdict} the {TARGET_S:.0f} s aim")
    finally:
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)


def _fresh(root: Path) -> None:
    for sub in ("warehouse", "serving"):
        shutil.rmtree(root / sub, ignore_errors=True)


if __name__ == "__main__":
    main()

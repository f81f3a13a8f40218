"""Benchmark: every dashboard panel query on a fleet-sized serving file, against the plugin's 30 s timeout.

    python -m bench.dashboard_queries [--copies 43] [--days 30]

The test fixture's serving file (24 GPUs, 6 hours) is scaled in DuckDB: every GPU, node, cell, gNB
and meter is copied ``--copies`` times, the six hours (and the daily rollups' day) repeated back to back
over ``--days`` days (43 copies ≈ 1,000 GPUs; 30 days of 1,000 GPUs ≈ 740,000 GPU-hours, each with its
101-bin utilisation histogram), and the serving views created on top. Each panel query of the generated
dashboards then runs as Grafana would run it (variables on All, the whole span as the time range, the
plugin's macro expansion), three times; the median is
reported with its ratio to a baseline measured in the same run: one full scan of ``gpu_hourly``
(``sum`` of two columns), the least any GPU panel has to do. The Grafana DuckDB plugin cancels queries
after 30 s, so the slowest panel is what matters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from dashboards.interpolation import TimeRange
from dashboards.preview import grafana_interval
from dashboards.render import GENERATED_DIR
from dashboards.verify import Checker, Scenario, iter_panels, load_dashboards
from pipelines.defs.serving.views import SERVING_VIEWS
from pipelines.tables import serving_tables
from tests.dashboards.serving_fixture import END, HOURS, serving_db

PLUGIN_TIMEOUT_S = 30.0
#: Columns that identify an entity: copies get a suffix so that keys stay unique.
IDENTITY = ("node", "gpu_uuid", "cell", "managed_element", "meter_id")


def _median_s(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scale(small: Path, big: Path, copies: int, days: int) -> dict[str, int]:
    """Copy every serving table from ``small`` into ``big``, multiplied by entity copies and days."""
    con = duckdb.connect(str(big))
    rows = {}
    try:
        con.execute(f"ATTACH '{small}' AS s (READ_ONLY)")
        for table in serving_tables():
            names = table.column_names
            has_identity = any(c in names for c in IDENTITY)
            shift, blocks = _repeat(con, table.name, table.grain, table.time_column, days)
            select = []
            for c in names:
                if c in IDENTITY and has_identity:
                    select.append(f"CASE WHEN k.c = 0 THEN {c} ELSE {c} || '-c' || k.c END AS {c}")
                elif c == table.time_column and shift:
                    select.append(f"{c} - d.d * {shift} AS {c}")
                else:
                    select.append(c)
            sources = [f"s.{table.name}"]
            sources.append(f"range({copies if has_identity else 1}) AS k(c)")
            sources.append(f"range({blocks}) AS d(d)")
            order = f" ORDER BY {table.time_column}" if table.time_column else ""
            con.execute(f"CREATE TABLE {table.name} AS SELECT {', '.join(select)} FROM {', '.join(sources)}{order}")
            count = con.execute(f"SELECT count(*) FROM {table.name}").fetchone()
            rows[table.name] = int(count[0]) if count else 0
        for name, sql in SERVING_VIEWS:
            con.execute(f"CREATE VIEW {name} AS {sql}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return rows


def _repeat(
    con: duckdb.DuckDBPyConnection, name: str, grain: str | None, column: str | None, days: int
) -> tuple[str, int]:
    """How to repeat a partitioned table back to back over ``days``: the shift per block and the blocks.

    Hourly tables hold the fixture's six hours; daily ones the days it has (one for the GPU rollups, 400
    for daily PUE, which needs no repeating). Monthly tables and dimensions are copied once.
    """
    if grain == "hour":
        return f"INTERVAL {HOURS} HOUR", days * 24 // HOURS
    if grain == "day" and column is not None:
        span = con.execute(f"SELECT count(DISTINCT {column}) FROM s.{name}").fetchone()
        have = int(span[0]) if span and span[0] else 0
        if 0 < have < days:
            return f"INTERVAL {have} DAY", -(-days // have)
    return "", 1


def _time_dashboard(
    con: duckdb.DuckDBPyConnection, dashboard: dict[str, Any], scenario: Scenario
) -> list[tuple[float, str]]:
    """Median seconds of each panel query (variables resolved first, as Grafana does on load)."""
    checker = Checker(con, dashboard, scenario)
    start = time.perf_counter()
    states = checker.variables()
    variables_s = time.perf_counter() - start
    assert states is not None, checker.report.problems
    timings = []
    for panel in iter_panels(dashboard):
        target = panel["targets"][0]
        seconds = _median_s(lambda: checker.run(panel, target, states))  # noqa: B023 - called at once
        timings.append((seconds, f"{dashboard['uid']} / {panel['title']}"))
    total = variables_s + sum(t for t, _ in timings)
    print(f"{dashboard['title']:<32} variables {variables_s * 1000:7.1f} ms, panels in sequence {total:6.2f} s")
    return timings


def run(copies: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small = serving_db(Path(tmp) / "small")
        big = Path(tmp) / "big.duckdb"
        start = time.perf_counter()
        rows = scale(small, big, copies, days)
        print(f"scaled serving file in {time.perf_counter() - start:.1f} s: {big.stat().st_size / 2**20:.1f} MiB")
        for name, count in sorted(rows.items()):
            print(f"  {name:<22} {count:>12,} rows")
        end = END.replace(tzinfo=dt.UTC)
        span = dt.timedelta(days=days)
        scenario = Scenario(f"{days}d, All", TimeRange(end - span, end), grafana_interval(span), "all")
        con = duckdb.connect(str(big), read_only=True)
        try:
            baseline = _median_s(lambda: con.execute("SELECT sum(busy_s), sum(sample_s) FROM gpu_hourly").fetchall())
            rate = rows["gpu_hourly"] / baseline / 1e6
            print(f"\nbaseline: full scan of gpu_hourly {baseline * 1000:.1f} ms ({rate:.1f} M rows/s)")
            timings = [t for d in load_dashboards(GENERATED_DIR) for t in _time_dashboard(con, d, scenario)]
        finally:
            con.close()
    timings.sort(reverse=True)
    print(f"\n{len(timings)} panel queries at interval {scenario.interval}; slowest (median of 3):")
    for seconds, name in timings[:8]:
        print(f"  {seconds * 1000:9.1f} ms  {seconds / baseline:7.1f}× baseline  {name}")
    median = statistics.median(t for t, _ in timings)
    print(f"median panel {median * 1000:.1f} ms ({median / baseline:.1f}× baseline)")
    slowest = timings[0][0]
    verdict = "within" if slowest < PLUGIN_TIMEOUT_S else "OVER"
    print(f"slowest panel {slowest:.2f} s: {verdict} the plugin's {PLUGIN_TIMEOUT_S:.0f} s query timeout")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=43, help="copies of each GPU, cell and meter (43 ≈ 1,000 GPUs)")
    parser.add_argument("--days", type=int, default=30, help="days of hourly data")
    args = parser.parse_args()
    run(args.copies, args.days)


if __name__ == "__main__":
    main()

"""End to end on the small simulated site: the marts this project adds keep their invariants on real pipeline
output (simulator → NVML agent → landing → every Dagster asset → serving file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.e2e.conftest import DemoRun


def _serving(run: DemoRun) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(run.root.serving_db), read_only=True)


def test_per_gpu_attribution_adds_up_to_each_gpu_hour(demo_run: DemoRun) -> None:
    con = _serving(demo_run)
    try:
        off = con.execute(
            "SELECT g.hour, g.gpu_uuid, g.sample_s / 3600, t.gh, g.energy_kwh, t.kwh FROM gpu_hourly g "
            "JOIN (SELECT hour, site, gpu_uuid, sum(gpu_hours) gh, sum(energy_kwh) kwh FROM gpu_tenant_hourly "
            "GROUP BY ALL) t USING (hour, site, gpu_uuid) "
            "WHERE abs(g.sample_s / 3600 - t.gh) > 1e-9 OR abs(g.energy_kwh - t.kwh) > 1e-9"
        ).fetchall()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM gpu_hourly), (SELECT count(DISTINCT (hour, gpu_uuid)) FROM gpu_tenant_hourly)"
        ).fetchone()
    finally:
        con.close()
    assert off == []
    assert counts == (2 * 2 * 8 * 4, 2 * 2 * 8 * 4)


def test_months_days_and_the_ai_ran_split_agree_with_the_hours(demo_run: DemoRun) -> None:
    con = _serving(demo_run)
    try:
        hourly, daily, monthly, split = (
            con.execute(
                "SELECT (SELECT sum(gpu_hours) FROM tenant_usage_hourly), "
                "(SELECT sum(gpu_hours) FROM tenant_usage_daily), (SELECT sum(gpu_hours) FROM tenant_usage_monthly), "
                "(SELECT sum(ran_gpu_hours + ai_gpu_hours + unattributed_gpu_hours + idle_gpu_hours) "
                "FROM ai_ran_share_hourly)"
            ).fetchone()
            or (None,) * 4
        )
        ran = con.execute("SELECT sum(ran_gpu_hours) FROM ai_ran_share_hourly").fetchone()
    finally:
        con.close()
    assert hourly == pytest.approx(2 * 2 * 8 * 4)
    assert daily == pytest.approx(hourly)
    assert monthly == pytest.approx(hourly)
    assert split == pytest.approx(hourly)
    assert ran == (pytest.approx(2 * 2 * 4),)  # two RAN GPUs per site, four hours


def test_data_quality_sees_every_simulated_gpu_reporting(demo_run: DemoRun) -> None:
    con = _serving(demo_run)
    try:
        rows = con.execute(
            "SELECT site, count(*), min(expected), min(reporting), min(time_coverage_ratio) FROM data_quality "
            "WHERE source = 'gpu' GROUP BY site ORDER BY site"
        ).fetchall()
    finally:
        con.close()
    assert [r[:4] for r in rows] == [("hkd1", 4, 16, 16), ("tyo1", 4, 16, 16)]
    assert all(r[4] == pytest.approx(1.0) for r in rows)


def test_statements_of_the_demo_month_equal_the_monthly_mart(demo_run: DemoRun, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aigrid",
            "report",
            "tenants",
            "--month",
            "2026-11",
            "--out",
            str(tmp_path),
            "--root",
            str(demo_run.root.path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    con = _serving(demo_run)
    try:
        tenants = con.execute(
            "SELECT tenant, sum(gpu_hours) FROM tenant_usage_monthly WHERE kind IN ('ai', 'ran') GROUP BY tenant"
        ).fetchall()
    finally:
        con.close()
    assert tenants
    for tenant, hours in tenants:
        lines = (tmp_path / f"{tenant}-2026-11.csv").read_text().splitlines()
        total = next(line for line in lines if line.startswith("total,,,GPU-hours allocated,"))
        assert float(total.split(",")[4]) == pytest.approx(hours, abs=1e-8)


def test_collectors_made_one_good_attempt_per_node_and_tick(demo_run: DemoRun) -> None:
    con = _serving(demo_run)
    try:
        rows = con.execute(
            "SELECT site, source, count(DISTINCT target), count(*), min(attempts), max(attempts), sum(failures), "
            "min(ok_ratio), count(last_error) FROM collector_health_hourly GROUP BY ALL ORDER BY site"
        ).fetchall()
    finally:
        con.close()
    per_hour = 3600 // demo_run.config.gpu_interval_s
    # Two nodes per site, four hours, one attempt per node and tick, none failed (no faults in this run).
    assert rows == [
        ("hkd1", "dcgm", 2, 2 * 4, per_hour, per_hour, 0, 1.0, 0),
        ("tyo1", "nvml", 2, 2 * 4, per_hour, per_hour, 0, 1.0, 0),
    ]

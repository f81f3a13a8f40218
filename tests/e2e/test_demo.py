"""End to end on a small simulated site: invariants against the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading

import dagster as dg
import duckdb
import polars as pl
import pytest

from aigrid.demo import STAGES
from aigrid.runner import dagster_instance, run_stage
from pipelines.definitions import build_definitions
from pipelines.lib.warehouse import Warehouse
from pipelines.partitions import HOURLY
from pipelines.tables import TABLES
from tests.e2e.conftest import START, DemoRun


def _serving(run: DemoRun) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(run.root.serving_db), read_only=True)


def test_tenants_plus_idle_equal_metered_gpu_energy(demo_run: DemoRun) -> None:
    con = _serving(demo_run)
    try:
        billed, metered = con.execute(
            "SELECT (SELECT sum(gpu_energy_kwh) FROM tenant_usage_hourly), (SELECT sum(energy_kwh) FROM gpu_hourly)"
        ).fetchone() or (None, None)
        per_hour = con.execute(
            "SELECT g.hour, g.site, g.kwh, t.kwh FROM (SELECT hour, site, sum(energy_kwh) kwh FROM gpu_hourly "
            "GROUP BY ALL) g JOIN (SELECT hour, site, sum(gpu_energy_kwh) kwh FROM tenant_usage_hourly GROUP BY ALL) t "
            "USING (hour, site)"
        ).fetchall()
    finally:
        con.close()
    assert metered is not None
    assert metered > 10.0  # 32 GPUs for 4 hours draw well over 10 kWh
    assert billed == pytest.approx(metered, rel=1e-3)
    assert len(per_hour) == 2 * 4
    for _hour, _site, g, t in per_hour:
        assert t == pytest.approx(g, rel=1e-3)


def test_gpu_hours_per_tenant_and_day_equal_the_simulated_allocation(demo_run: DemoRun) -> None:
    cfg = demo_run.config
    start, end = cfg.span_start, cfg.span_end
    alloc = pl.read_parquet(demo_run.root.truth / "allocations.parquet")
    res = pl.read_parquet(demo_run.root.truth / "reservations.parquet")
    reserved = set(res.get_column("gpu_uuid").to_list())
    days = [START.replace(hour=0), START.replace(hour=0) + dt.timedelta(days=1)]
    expected: dict[tuple[str, dt.date], float] = {}

    def add(tenant: str, lo: dt.datetime, hi: dt.datetime) -> None:
        for day in days:
            a, b = max(lo, start, day), min(hi, end, day + dt.timedelta(days=1))
            if b > a:
                key = (tenant, day.date())
                expected[key] = expected.get(key, 0.0) + (b - a).total_seconds() / 3600

    lease_end = {r["gpu_uuid"]: r["end"] for r in res.iter_rows(named=True)}

    def add_share(tenant: str, lo: dt.datetime, hi: dt.datetime, share: float) -> None:
        for day in days:
            a, b = max(lo, start, day), min(hi, end, day + dt.timedelta(days=1))
            if b > a:
                key = (tenant, day.date())
                expected[key] = expected.get(key, 0.0) + share * (b - a).total_seconds() / 3600

    for row in alloc.iter_rows(named=True):
        lo = row["start"]
        if row["gpu_uuid"] in reserved:
            # Reserved GPUs belong to the reservation holder while the lease lasts, whatever runs on them.
            lo = max(lo, lease_end[row["gpu_uuid"]])
        # A MIG instance holds its compute slices' share of the board.
        add_share(row["tenant"] or "unattributed", lo, row["end"], row["slices"] / 7)
    for row in res.iter_rows(named=True):
        add(row["tenant"], row["start"], row["end"])
    total_gpu_hours = 2 * 2 * 8 * 4
    for day in days:
        lo, hi = max(start, day), min(end, day + dt.timedelta(days=1))
        held = sum(v for (t, d), v in expected.items() if d == day.date())
        expected[("idle", day.date())] = 2 * 2 * 8 * (hi - lo).total_seconds() / 3600 - held
    con = _serving(demo_run)
    try:
        got = {
            (t, d): gh
            for t, d, gh in con.execute(
                "SELECT tenant, day, sum(gpu_hours) FROM tenant_usage_daily GROUP BY ALL"
            ).fetchall()
        }
    finally:
        con.close()
    assert sum(got.values()) == pytest.approx(total_gpu_hours)
    assert {k for k, v in expected.items() if v > 1e-9} == {k for k, v in got.items() if v > 1e-9}
    for key, hours in expected.items():
        assert got.get(key, 0.0) == pytest.approx(hours, abs=1e-6), key
    assert got[("ai-ran", START.date())] == pytest.approx(2 * 2 * 2)  # 2 RAN GPUs per site, 2 h before midnight


def test_sql_answers_the_questions_of_the_issue(demo_run: DemoRun) -> None:
    def sql(query: str) -> list[dict[str, object]]:
        out = subprocess.run(
            [sys.executable, "-m", "aigrid", "sql", query, "--format", "json", "--root", str(demo_run.root.path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        import json

        rows = json.loads(out.stdout)
        assert isinstance(rows, list)
        return rows

    util = sql("SELECT site, hour, avg(util_mean_ratio) AS u FROM gpu_hourly GROUP BY ALL ORDER BY ALL")
    assert len(util) == 8
    assert all(0.0 < float(r["u"]) < 1.0 for r in util)  # type: ignore[arg-type]
    tenants = sql("SELECT tenant, day, gpu_hours, gpu_energy_kwh FROM tenant_usage_daily WHERE tenant <> 'idle'")
    assert tenants
    for r in tenants:
        hours = float(r["gpu_hours"])  # type: ignore[arg-type]
        kwh = float(r["gpu_energy_kwh"])  # type: ignore[arg-type]
        assert hours > 0
        # An H100/B200 draws between ~60 W (idle) and 1 kW: energy per GPU-hour must lie in between.
        assert 0.05 * hours <= kwh <= 1.0 * hours


def test_runs_are_recorded_in_the_dagster_home(demo_run: DemoRun) -> None:
    instance = dagster_instance(demo_run.dagster_home)
    runs = instance.get_runs()
    assert len(runs) >= 4
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    hourly = instance.get_materialized_partitions(dg.AssetKey("gpu_hourly"))
    assert len(hourly) == 4


def test_rematerialising_a_partition_changes_no_table(
    demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wh = Warehouse(demo_run.root.warehouse_db)
    before = {name: wh.table_hash(name) for name in TABLES}
    defs = build_definitions(str(demo_run.root.path))
    instance = dagster_instance(demo_run.dagster_home)
    hour = START + dt.timedelta(hours=1)
    for stage in STAGES:
        if stage.partitions is HOURLY:
            run_stage(defs, stage, instance, hour, hour + dt.timedelta(hours=1))
        elif stage.partitions is None and stage.selection.resolve(defs.resolve_asset_graph()):
            run_stage(defs, stage, instance, hour, hour)
    after = {name: wh.table_hash(name) for name in TABLES}
    assert after == before


def test_serving_file_opens_read_only_while_the_pipeline_writes(demo_run: DemoRun) -> None:
    defs = build_definitions(str(demo_run.root.path))
    instance = dagster_instance(demo_run.dagster_home)
    hourly = next(s for s in STAGES if s.partitions is HOURLY)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            run_stage(defs, hourly, instance, START, START + dt.timedelta(hours=4))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    reader = (
        "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select count(*) from gpu_hourly').fetchone()[0])"
    )
    while writer.is_alive() or reads < 3:
        out = subprocess.run(
            [sys.executable, "-c", reader, str(demo_run.root.serving_db)], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert int(out.stdout) == 2 * 2 * 8 * 4
        reads += 1
    writer.join()
    assert not errors


def test_pue_is_at_least_one_and_matches_the_simulated_meters(demo_run: DemoRun) -> None:
    truth = pl.read_parquet(demo_run.root.truth / "facility_hourly.parquet").with_columns(
        pl.col("hour").dt.replace_time_zone(None)
    )
    con = _serving(demo_run)
    try:
        pue = con.execute(
            "SELECT site, hour, facility_kwh, it_kwh, gpu_kwh, pue, category, coverage_ratio, low_coverage "
            "FROM pue_hourly"
        ).pl()
        daily = con.execute("SELECT site, day, pue FROM pue_daily").pl()
    finally:
        con.close()
    assert pue.height == 2 * 4
    assert pue.get_column("pue").min() >= 1.0  # type: ignore[operator]
    assert set(pue.get_column("category").to_list()) == {2}  # IT metered at PDU outputs
    assert pue.get_column("coverage_ratio").min() == pytest.approx(1.0)
    assert not pue.get_column("low_coverage").any()
    assert (pue.get_column("gpu_kwh") < pue.get_column("it_kwh")).all()
    joined = pue.join(truth, on=["site", "hour"], suffix="_true")
    for row in joined.iter_rows(named=True):
        assert row["facility_kwh"] == pytest.approx(row["facility_kwh_true"], rel=1e-3)
        assert row["it_kwh"] == pytest.approx(row["it_kwh_true"], rel=1e-3)
    # Daily PUE is the ratio of the day's energies, not the mean of hourly ratios.
    day = START.date()
    first = pue.filter(pl.col("hour").dt.date() == day)
    for site in ("tyo1", "hkd1"):
        part = first.filter(pl.col("site") == site)
        expected = part.get_column("facility_kwh").sum() / part.get_column("it_kwh").sum()
        got = daily.filter((pl.col("site") == site) & (pl.col("day") == day)).get_column("pue").item()
        assert got == pytest.approx(expected, rel=1e-9)


def test_every_asset_check_of_the_demo_runs_passed(demo_run: DemoRun) -> None:
    instance = dagster_instance(demo_run.dagster_home)
    defs = build_definitions(str(demo_run.root.path))
    keys = [spec.key for checks in defs.asset_checks or [] for spec in checks.check_specs]  # type: ignore[union-attr]
    assert len(keys) > 40
    failed, evaluated = [], 0
    for key in keys:
        record = instance.get_latest_asset_check_evaluation_record(key)
        if record is None or record.evaluation is None:
            continue  # freshness checks are evaluated by their sensor, not by runs
        evaluated += 1
        if not record.evaluation.passed:
            failed.append((key.asset_key.to_user_string(), key.name, str(record.evaluation.severity)))
    assert evaluated > 40
    assert [f for f in failed if "WARN" not in f[2]] == []

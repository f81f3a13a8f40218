"""Panels on the marts compute what they say: values checked against the facts the fixture was made from.

Exact percentiles are checked against DuckDB's own ``quantile_disc`` over the samples the histograms stand
for (the histogram sum must equal the library's answer, not just our reading of it).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboards.interpolation import TimeRange
from dashboards.render import GENERATED_DIR
from dashboards.verify import Scenario, load_dashboards, verify_all
from pipelines.lib.rollups import hist_quantile_one
from tests.dashboards import fixture_energy, fixture_fleet, fixture_tenancy
from tests.dashboards import fixture_world as w
from tests.dashboards.conftest import by_uid, panel_rows

END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = Scenario("24h, All", TimeRange(END - dt.timedelta(hours=24), END), "1m", "all")
YEAR = Scenario("400d, All", TimeRange(END - dt.timedelta(days=400), END), "1d", "all")


def _quantile_disc(con: duckdb.DuckDBPyConnection, hist: list[int], q: float) -> float:
    """quantile_disc over the samples a histogram stands for (each bin k repeated hist[k] times)."""
    row = con.execute(
        """
        WITH bins AS (SELECT generate_subscripts(h, 1) - 1 AS pct, unnest(h) AS n FROM (SELECT ?::INTEGER[] AS h))
        SELECT quantile_disc(pct, ?) FROM bins, range(n)
        """,
        [hist, q],
    ).fetchone()
    assert row is not None
    return float(row[0]) / 100


def _summed(rows: list[dict[str, Any]]) -> list[int]:
    return [sum(r["util_hist"][k] for r in rows) for k in range(101)]


def test_fleet_p95_is_the_exact_percentile_of_the_samples(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    fleet = by_uid(committed, "aigrid-fleet")
    hourly = fixture_fleet.gpu_hourly()
    rows = panel_rows(serving_con, fleet, "GPU utilisation: mean and p95", DAY)
    assert [r[0] for r in rows] == w.hours()
    for time, mean, p95 in rows:
        in_hour = [r for r in hourly if r["hour"] == time]
        hist = _summed(in_hour)
        assert p95 == _quantile_disc(serving_con, hist, 0.95)
        assert p95 == hist_quantile_one(hist, 0.95) / 100  # type: ignore[operator]
        assert mean == pytest.approx(sum(r["busy_s"] for r in in_hour) / sum(r["sample_s"] for r in in_hour))
    # A year at a day's interval reads the daily histograms: one point for the day, all six hours pooled.
    ((day, _mean, p95_day),) = panel_rows(serving_con, fleet, "GPU utilisation: mean and p95", YEAR)
    assert day == dt.datetime(2026, 11, 20)
    assert p95_day == _quantile_disc(serving_con, _summed(hourly), 0.95)


def test_long_ranges_read_daily_histograms_only(serving_file: Path, tmp_path: Path) -> None:
    """With gpu_hourly emptied, a day-interval range still draws (from gpu_daily); an hourly one does not."""
    copy = tmp_path / "daily-only.duckdb"
    shutil.copy(serving_file, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("DELETE FROM gpu_hourly")
        fleet = by_uid(load_dashboards(GENERATED_DIR), "aigrid-fleet")
        assert panel_rows(con, fleet, "GPU utilisation: mean and p95", DAY) == []
        assert len(panel_rows(con, fleet, "GPU utilisation: mean and p95", YEAR)) == 1
    finally:
        con.close()


def test_node_percentiles_pool_each_nodes_samples(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    by_node: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in fixture_fleet.gpu_hourly():
        by_node[(r["site"], r["node"])].append(r)
    rows = panel_rows(serving_con, by_uid(committed, "aigrid-fleet"), "Node utilisation percentiles", DAY)
    assert len(rows) == w.NODES_PER_SITE * len(w.SITES)
    p95s = [r[6] for r in rows]
    assert p95s == sorted(p95s)  # lowest p95 first
    for site, node, gpus, gpu_hours, _mean, p50, p95, p99, *_ in rows:
        hist = _summed(by_node[(site, node)])
        assert (p50, p95, p99) == tuple(_quantile_disc(serving_con, hist, q) for q in (0.5, 0.95, 0.99))
        assert gpus == w.GPUS_PER_NODE
        assert gpu_hours == pytest.approx(sum(r["sample_s"] for r in by_node[(site, node)]) / 3600)
    heat = panel_rows(serving_con, by_uid(committed, "aigrid-fleet"), "Daily p95 utilisation by node", DAY)
    assert {(node, p95) for _t, node, p95 in heat} == {(r[1], r[6]) for r in rows}


def test_rolling_12_months_and_months_come_from_the_marts(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    energy = by_uid(committed, "aigrid-energy")
    rolling = [r for r in fixture_energy.tables()["pue_rolling_12m"] if r["month"] == dt.date(2026, 11, 1)]
    ((pue, window, coverage),) = panel_rows(serving_con, energy, "PUE, rolling 12 months", DAY)
    assert pue == pytest.approx(sum(r["facility_kwh"] for r in rolling) / sum(r["it_kwh"] for r in rolling))
    assert window == 1  # 'ttm': the window 2025-12 … 2026-11 is 97 % measured
    assert coverage == pytest.approx(min(r["coverage_ratio"] for r in rolling)) == pytest.approx(355 / 365)
    series = panel_rows(serving_con, energy, "PUE per month and rolling 12 months", DAY)
    assert [r[0] for r in series] == [dt.datetime(2025 + (10 + i) // 12, (10 + i) % 12 + 1, 1) for i in range(13)]
    daily = fixture_energy.daily_pue()
    november = [r for r in daily if r["day"] >= dt.date(2026, 11, 1)]
    assert series[-1][1] == pytest.approx(sum(r["facility_kwh"] for r in november) / sum(r["it_kwh"] for r in november))
    table = panel_rows(serving_con, energy, "Monthly PUE by site", DAY)
    assert [(r[0], r[1], r[8]) for r in table[:2]] == [
        ("2026-11", "osa1", "trailing 12 months"),
        ("2026-11", "tyo1", "trailing 12 months"),
    ]
    # August 2026: the window reaches back to September 2025, before the first day of data.
    assert {r[8] for r in table if r[0] == "2026-08"} == {"interim"}


def test_costs_come_from_the_tenant_marts(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    tenants = by_uid(committed, "aigrid-tenants")
    usage = fixture_tenancy.tenant_hourly()
    billed = [r for r in usage if r["kind"] in ("ai", "ran")]
    ((gpu_hours, _eff, _kwh, cost, unpriced),) = panel_rows(serving_con, tenants, "Month to date", DAY)
    assert gpu_hours == pytest.approx(sum(r["gpu_hours"] for r in billed))
    assert cost == pytest.approx(sum(r["cost"] for r in billed))
    assert unpriced == 0
    statement = {r[0]: r for r in panel_rows(serving_con, tenants, "Tenant statement", DAY)}
    for tenant, row in statement.items():
        mine = [r for r in usage if r["tenant"] == tenant]
        assert row[10:14] == (
            pytest.approx(sum(r["gpu_hour_cost"] for r in mine)),
            pytest.approx(sum(r["energy_cost"] for r in mine)),
            pytest.approx(sum(r["cost"] for r in mine)),
            "JPY",
        )
    bars = dict(panel_rows(serving_con, tenants, "Cost by tenant", DAY))
    assert bars["Sakura AI K.K."] == pytest.approx(statement["sakura-ai"][12])
    monthly = panel_rows(serving_con, tenants, "Monthly statements", DAY)
    assert {r[0] for r in monthly} == {"2026-11"}
    due = {r[1]: r[10] for r in monthly}
    assert due["idle"] == pytest.approx(0.0)  # weighted policy: idle capacity is charged to the users
    november = [r for r in fixture_tenancy.tenant_monthly() if r["month"] == dt.date(2026, 11, 1)]
    assert sum(due.values()) == pytest.approx(sum(r["cost"] for r in november))
    assert {r[12] for r in monthly} == {"weighted"}
    tariff = panel_rows(serving_con, tenants, "Tariff", DAY)
    assert [(r[0], r[1], r[4], r[6]) for r in tariff] == [
        ("gpu_hour", 1, w.GPU_HOUR_PRICE, "JPY"),
        ("energy", 1, w.KWH_PRICE["tyo1"], "JPY"),
        ("energy", 2, w.KWH_PRICE["osa1"], "JPY"),
    ]


def test_ai_ran_split_and_efficiency(serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]) -> None:
    airan = by_uid(committed, "aigrid-airan")
    ((ran, ai, idle, unattributed, ran_of_allocated),) = panel_rows(serving_con, airan, "GPU share over the range", DAY)
    assert (ran, ai, idle, unattributed) == pytest.approx((2 / 12, 8 / 12, 1.5 / 12, 0.5 / 12))
    assert ran_of_allocated == pytest.approx(2 / 10.5)
    split = panel_rows(serving_con, airan, "GPU time: RAN vs AI vs idle", DAY)
    # Mean GPUs per hour over both sites: the stack is the 12 GPU-hours per site-hour of the tenancy rows.
    assert [sum(r[1:]) for r in split] == pytest.approx([24.0] * w.HOURS)
    usage = fixture_tenancy.tenant_hourly()
    share = fixture_tenancy.ai_ran_share(usage, fixture_tenancy.ran()["ran_cell_hourly"])
    ((_radio, gpu_ee, *_),) = panel_rows(serving_con, airan, "RAN over the range", DAY)
    volume = sum(r["volume_dl_mbit"] + r["volume_ul_mbit"] for r in share) * 1e6
    assert gpu_ee == pytest.approx(volume / (sum(r["gpu_energy_kwh"] for r in usage if r["kind"] == "ran") * 3.6e6))


def test_health_events_xid_ecc_and_lost_gpus(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    health = by_uid(committed, "aigrid-gpu-health")
    assert panel_rows(serving_con, health, "Health events in the range", DAY) == [(3, 2, 1, 1, 0, 1)]
    xids = panel_rows(serving_con, health, "Xid errors by GPU", DAY)
    assert sorted((r[1], r[2], r[4]) for r in xids) == [
        ("osa1-gpu01", 3, 79),
        ("tyo1-gpu01", 0, 48),
        ("tyo1-gpu02", 1, 13),
    ]
    assert panel_rows(serving_con, health, "ECC errors and row remapping", DAY)[0][:7] == (
        "tyo1",
        "tyo1-gpu01",
        0,
        w.uuid("tyo1", 1, 0),
        2,
        1,
        0,
    )
    assert len(panel_rows(serving_con, health, "Health event log", DAY)) == len(fixture_fleet.health_events())
    lost = {(r[1], r[2]): r[7] for r in panel_rows(serving_con, health, "Lost GPUs", DAY)}
    assert lost[("osa1-gpu01", 3)] == "gpu_lost: NVML_ERROR_GPU_IS_LOST"
    assert lost[("osa1-gpu03", 0)] is None  # a stopped collector leaves no event behind
    xid_series = panel_rows(serving_con, health, "Xid errors per site", DAY)
    assert sum(r[2] for r in xid_series) == 3


def test_throttling_by_reason(serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]) -> None:
    hourly = fixture_fleet.gpu_hourly()
    observed = sum(r["sample_s"] for r in hourly)
    ((any_reason, power_cap, sw_thermal, hw_thermal, hw_slowdown, brake),) = panel_rows(
        serving_con, by_uid(committed, "aigrid-gpu-health"), "Throttled time by reason", DAY
    )
    # The power-capped GPU: 900 s in each of six hours; the hot one: 600 s of SW thermal from 09:00 (3 hours).
    assert power_cap == pytest.approx(6 * 900 / observed)
    assert sw_thermal == pytest.approx(3 * 600 / observed)
    assert hw_thermal == pytest.approx(3 * 120 / observed)
    assert hw_slowdown == pytest.approx(60 / observed)
    assert brake == 0
    assert any_reason == pytest.approx((6 * 900 + 3 * 600) / observed)


def test_pipeline_health_from_data_quality(
    serving_con: duckdb.DuckDBPyConnection, committed: list[dict[str, Any]]
) -> None:
    pipeline = by_uid(committed, "aigrid-pipeline")
    silent = panel_rows(serving_con, pipeline, "Silent sources", DAY)
    # 11:00 at osa1: the lost GPU and the four GPUs of the stopped node.
    assert silent == [("osa1", "GPUs", "gpus", dt.datetime(2026, 11, 20, 11), 12, 7, 5)]
    ((missing, late, quarantined, *_),) = panel_rows(serving_con, pipeline, "Gaps over the range", DAY)
    assert (missing, late, quarantined) == (1 + 1 + 5, 1, 2)
    reporting = {(r[0], r[1]): r for r in panel_rows(serving_con, pipeline, "Reporting per source and site", DAY)}
    assert reporting[("osa1", "GPUs")][3:6] == (12, 7, 7)
    assert reporting[("unknown", "facility meters")][10] == 1
    freshness = panel_rows(serving_con, pipeline, "Freshness per source", DAY)
    assert "unknown" not in {r[2] for r in freshness}
    # Three sources × six hours of data_quality rows per site.
    assert ("Data quality", "data_quality", "tyo1", dt.datetime(2026, 11, 20, 12), 0, 18) in freshness
    held = panel_rows(serving_con, pipeline, "Quarantined files", DAY)
    # Newest first: the meter export of 10:12 (site unknown), then the truncated PM file of osa1 at 09:20.
    assert [(r[0], r[1], r[2], r[5]) for r in held] == [
        (dt.datetime(2026, 11, 20, 10, 12), "unknown", "facility meters", 1),
        (dt.datetime(2026, 11, 20, 9, 20), "osa1", "RAN cells", 57),
    ]
    assert held[1][7] == f"quarantine/ran_pm/osa1/{held[1][3]}"
    assert sum(r[10] for r in reporting.values()) == len(held)
    failing = panel_rows(serving_con, pipeline, "Collector failures", DAY)
    # Only the lost GPU's node agent: 40 failed samples at 08:40–09:00, then every sample of 09:00–12:00.
    assert failing == [
        (
            "osa1",
            "nvml",
            "nvml-agent@osa1-gpu01",
            "osa1-gpu01",
            6 * 120,
            40 + 3 * 120,
            pytest.approx((6 * 120 - 400) / (6 * 120)),
            "GPU 3: NVML_ERROR_GPU_IS_LOST",
            dt.datetime(2026, 11, 20, 8, 39, 30),
        )
    ]


def test_exception_lists_may_be_empty_and_other_panels_may_not(serving_file: Path, tmp_path: Path) -> None:
    """Without any health event the exception lists pass empty; without cells, the cell panels fail."""
    copy = tmp_path / "healthy.duckdb"
    shutil.copy(serving_file, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("DELETE FROM gpu_health_events")
        health = by_uid(load_dashboards(GENERATED_DIR), "aigrid-gpu-health")
        assert verify_all(con, [health], [DAY]).problems == []
        assert panel_rows(con, health, "Health event log", DAY) == []
        con.execute("DELETE FROM ran_cell_hourly")
        airan = by_uid(load_dashboards(GENERATED_DIR), "aigrid-airan")
        problems = {(p.panel, p.message) for p in verify_all(con, [airan], [DAY]).problems}
        assert ("panel 'PRB utilisation' (id 3)", "returned no rows over data that should fill it") in problems
    finally:
        con.close()


def test_without_a_tariff_costs_stay_empty_and_say_why(serving_file: Path, tmp_path: Path) -> None:
    """No tariff.yaml: the marts leave every cost NULL (and dim_tariff, today, one row of NULLs)."""
    copy = tmp_path / "unpriced.duckdb"
    shutil.copy(serving_file, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("DELETE FROM dim_tariff")
        con.execute("INSERT INTO dim_tariff DEFAULT VALUES")
        for table in ("tenant_usage_hourly", "tenant_usage_daily", "tenant_usage_monthly"):
            con.execute(f"UPDATE {table} SET currency = NULL, gpu_hour_cost = NULL, energy_cost = NULL, cost = NULL")
        con.execute("UPDATE tenant_usage_monthly SET idle_share_cost = NULL")
        tenants = by_uid(load_dashboards(GENERATED_DIR), "aigrid-tenants")
        assert verify_all(con, [tenants], [DAY]).problems == []
        assert panel_rows(con, tenants, "Tariff", DAY) == []
        assert panel_rows(con, tenants, "Cost by tenant", DAY) == []
        ((gpu_hours, _eff, _kwh, cost, unpriced),) = panel_rows(con, tenants, "Month to date", DAY)
        assert cost is None
        assert unpriced == gpu_hours == pytest.approx(120.0)
    finally:
        con.close()

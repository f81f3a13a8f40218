"""The hand-made site (tests/marts/scenario.py) through every Dagster asset: marts equal answers worked on paper.

Hour 10:00 of GPU-hours (h) and GPU energy (kWh, = W × h / 1000), by GPU:

- GPU-MIG, 350 W → 0.35 kWh: alpha 3/7 (0.15 kWh, busy 0.5 × 3/7), unattributed 2/7 (0.1 kWh, busy 0.25 × 2/7),
  idle remainder 2/7 (0.1 kWh).
- GPU-TS, 500 W → 0.5 kWh: alpha 0.6/0.8 = 3/4 (0.375 kWh, busy 0.6), beta 1/4 (0.125 kWh, busy 0.2).
- GPU-RAN, 200 W: ai-ran 1 h, 0.2 kWh, busy 0.12.
- GPU-RES, 300 W: gamma's reservation ends at 10:25, so 10:00–10:25 = 25 min is gamma's (0.125 kWh, busy 0.9 × 5
  min), 10:25–11:00 = 35 min alpha's (0.175 kWh, busy 0.9 × 35 min).
- GPU-RST, 400 W: the counter resets at 10:30, so 10:20–10:30 falls back to power × time = 390 W × 600 s =
  234 kJ; gamma (Slurm account) 10:00–10:30 = 240 + 240 + 234 kJ, idle 10:30–11:00 = 3 × 240 kJ.
- GPU-IDL, 70 W: idle 1 h, 0.07 kWh.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.marts.conftest import MartRun

H10 = dt.datetime(2026, 11, 20, 10)
H11 = dt.datetime(2026, 11, 20, 11)
KWH = 1 / 3.6e6

EXPECTED_H10 = {
    # tenant: (gpu_hours, busy_gpu_hours, reserved_gpu_hours, gpu_energy_kwh)
    "alpha": (3 / 7 + 3 / 4 + 35 / 60, 0.5 * 3 / 7 + 0.6 + 0.9 * 35 / 60, 0.0, 0.15 + 0.375 + 0.175),
    "beta": (1 / 4, 0.2, 0.0, 0.125),
    "gamma": (25 / 60 + 0.5, 0.9 * 5 / 60 + 0.5 * 0.5, 25 / 60, 0.125 + (240e3 + 240e3 + 234e3) * KWH),
    "ai-ran": (1.0, 0.12, 0.0, 0.2),
    "unattributed": (2 / 7, 0.25 * 2 / 7, 0.0, 0.1),
    "idle": (2 / 7 + 0.5 + 1.0, 0.0, 0.0, 0.1 + 3 * 240e3 * KWH + 0.07),
}
#: Hour 11: the reservation is over (GPU-RES is alpha's all hour), GPU-RST idle, no PUE for the hour.
EXPECTED_H11 = {
    "alpha": (3 / 7 + 3 / 4 + 1.0, 0.5 * 3 / 7 + 0.6 + 0.9, 0.0, 0.15 + 0.375 + 0.3),
    "beta": (1 / 4, 0.2, 0.0, 0.125),
    "ai-ran": (1.0, 0.12, 0.0, 0.2),
    "unattributed": (2 / 7, 0.25 * 2 / 7, 0.0, 0.1),
    "idle": (2 / 7 + 1.0 + 1.0, 0.0, 0.0, 0.1 + 0.4 + 0.07),
}
PUE_H10 = 1.25
PRICE_GPU_HOUR = 400.0
PRICE_KWH = 30.0


def _usage(run: MartRun, hour: dt.datetime) -> dict[str, tuple[float, ...]]:
    with run.serving() as con:
        rows = con.execute(
            "SELECT tenant, gpu_hours, busy_gpu_hours, reserved_gpu_hours, gpu_energy_kwh FROM tenant_usage_hourly "
            "WHERE hour = ? ORDER BY tenant",
            [hour],
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.mark.parametrize(("hour", "expected"), [(H10, EXPECTED_H10), (H11, EXPECTED_H11)])
def test_tenant_usage_per_hour_equals_the_hand_computed_split(
    mart_run: MartRun, hour: dt.datetime, expected: dict[str, tuple[float, ...]]
) -> None:
    got = _usage(mart_run, hour)
    assert set(got) == set(expected)
    for tenant, values in expected.items():
        assert got[tenant] == pytest.approx(values, abs=1e-9), tenant
    assert sum(v[0] for v in got.values()) == pytest.approx(6.0)  # six GPUs for one hour


def test_mig_slices_time_slices_reservation_split_and_counter_reset_per_gpu(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = con.execute(
            "SELECT gpu_uuid, gpu_instance_id, tenant, gpu_hours, energy_kwh FROM gpu_tenant_hourly WHERE hour = ? "
            "ORDER BY gpu_uuid, gpu_instance_id NULLS FIRST, tenant",
            [H10],
        ).fetchall()
    assert rows == [
        ("GPU-IDL", None, "idle", pytest.approx(1.0), pytest.approx(0.07)),
        ("GPU-MIG", None, "idle", pytest.approx(2 / 7), pytest.approx(0.1)),
        ("GPU-MIG", 1, "alpha", pytest.approx(3 / 7), pytest.approx(0.15)),
        ("GPU-MIG", 2, "unattributed", pytest.approx(2 / 7), pytest.approx(0.1)),
        ("GPU-RAN", None, "ai-ran", pytest.approx(1.0), pytest.approx(0.2)),
        ("GPU-RES", None, "alpha", pytest.approx(35 / 60), pytest.approx(0.175)),
        ("GPU-RES", None, "gamma", pytest.approx(25 / 60), pytest.approx(0.125)),
        ("GPU-RST", None, "gamma", pytest.approx(0.5), pytest.approx(714e3 * KWH)),
        ("GPU-RST", None, "idle", pytest.approx(0.5), pytest.approx(720e3 * KWH)),
        ("GPU-TS", None, "alpha", pytest.approx(0.75), pytest.approx(0.375)),
        ("GPU-TS", None, "beta", pytest.approx(0.25), pytest.approx(0.125)),
    ]


def test_pue_uplift_and_cost_come_from_the_hour_and_the_tariff(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = con.execute(
            "SELECT hour, tenant, pue, overhead_kwh, facility_energy_kwh, hours_without_pue, gpu_hour_cost, "
            "energy_cost, cost, currency FROM tenant_usage_hourly WHERE tenant = 'alpha' ORDER BY hour"
        ).fetchall()
    h10, h11 = rows
    gh, _, _, kwh = EXPECTED_H10["alpha"]
    assert h10[2:] == pytest.approx(
        (
            PUE_H10,
            kwh * 0.25,
            kwh * PUE_H10,
            0.0,
            gh * PRICE_GPU_HOUR,
            kwh * PUE_H10 * PRICE_KWH,
            gh * PRICE_GPU_HOUR + kwh * PUE_H10 * PRICE_KWH,
            "JPY",
        )
    )
    gh11, _, _, kwh11 = EXPECTED_H11["alpha"]
    # No PUE for 11:00: facility energy unknown, energy charged at GPU kWh, and the hours say so.
    assert h11[2:] == pytest.approx(
        (
            None,
            None,
            None,
            gh11,
            gh11 * PRICE_GPU_HOUR,
            kwh11 * PRICE_KWH,
            gh11 * PRICE_GPU_HOUR + kwh11 * PRICE_KWH,
            "JPY",
        )
    )


def test_daily_and_monthly_marts_sum_the_hours_and_share_idle_by_weight(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        daily = dict(
            con.execute("SELECT tenant, gpu_hours FROM tenant_usage_daily WHERE day = DATE '2026-11-20'").fetchall()
        )
        monthly = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT tenant, gpu_hours, idle_share_gpu_hours, pue, days, idle_policy FROM tenant_usage_monthly"
            ).fetchall()
        }
    for tenant in EXPECTED_H10:
        assert daily[tenant] == pytest.approx(EXPECTED_H10[tenant][0] + EXPECTED_H11.get(tenant, (0.0,))[0])
    idle_hours = EXPECTED_H10["idle"][0] + EXPECTED_H11["idle"][0]
    users = {t: daily[t] for t in ("alpha", "beta", "gamma", "ai-ran")}
    for tenant, hours in users.items():
        assert monthly[tenant][1] == pytest.approx(idle_hours * hours / sum(users.values())), tenant
    assert monthly["idle"][1] == pytest.approx(-idle_hours)
    assert monthly["unattributed"][1] == 0.0
    # Period PUE = facility / GPU energy over the hours that had one: only 10:00 here.
    assert monthly["alpha"][2] == pytest.approx(PUE_H10)
    assert monthly["alpha"][3:] == (1, "weighted")


def test_ai_ran_split_and_cell_load(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        row = con.execute(
            "SELECT gpu_hours, ran_gpu_hours, ai_gpu_hours, unattributed_gpu_hours, idle_gpu_hours, ran_share_ratio, "
            "ran_share_of_allocated_ratio, cells, prb_util_dl_ratio, ran_bit_per_gpu_j "
            "FROM ai_ran_share_hourly WHERE hour = ?",
            [H10],
        ).fetchone()
    ai = sum(EXPECTED_H10[t][0] for t in ("alpha", "beta", "gamma"))
    allocated = 1.0 + ai + 2 / 7
    assert row == pytest.approx(
        (
            6.0,
            1.0,
            ai,
            2 / 7,
            EXPECTED_H10["idle"][0],
            1 / 6,
            1.0 / allocated,
            2,
            (0.4 * 3600 + 0.2 * 1800) / 5400,  # PRB utilisation weighted by the time each cell was measured
            (1500 + 150) * 1e6 / (0.2 * 3.6e6),  # bits moved per joule of the RAN's GPU energy
        )
    )


def test_gpu_hourly_facts_histogram_throttle_xid_and_estimated_energy(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT gpu_uuid, util_hist, util_samples, energy_kwh, energy_estimated_s, throttle_sw_power_s, "
                "throttled_s, xid_events, mig_instances FROM gpu_hourly WHERE hour = ?",
                [H10],
            ).fetchall()
        }
    hist, samples, kwh, estimated, sw_power, throttled, xid, mig = rows["GPU-TS"]
    assert hist[80] == 6
    assert sum(hist) == samples == 6
    assert (kwh, estimated, sw_power, throttled, xid, mig) == (pytest.approx(0.5), 0.0, 600.0, 600.0, 1, 0)
    assert rows["GPU-RST"][2:4] == (pytest.approx(0.398333333), 600.0)  # one interval from power after the reset
    assert rows["GPU-RES"][0][0] == 2
    assert rows["GPU-RES"][0][90] == 4
    assert rows["GPU-MIG"][1] == 0
    assert rows["GPU-MIG"][-1] == 2


def test_health_events_reported_and_derived(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = con.execute(
            "SELECT ts, gpu_uuid, event, code, severity, origin FROM gpu_health_events ORDER BY ts"
        ).fetchall()
    assert rows == [
        (dt.datetime(2026, 11, 20, 10, 15), "GPU-TS", "xid", 13, "warning", "reported"),
        (dt.datetime(2026, 11, 20, 10, 40), "GPU-IDL", "ecc_uncorrected", 2, "critical", "derived"),
    ]


def test_data_quality_counts_silent_meters_cells_late_and_quarantined_files(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = con.execute(
            "SELECT hour, source, expected, reporting, coverage_ratio, files, late_files, max_delay_s, "
            "quarantined_files FROM data_quality ORDER BY hour, source"
        ).fetchall()
    assert rows == [
        (H10, "facility", 2, 1, 0.5, 0, 0, None, 1),
        (H10, "gpu", 6, 6, 1.0, 2, 1, 1800.0, 0),
        (H10, "ran_pm", 2, 2, 1.0, 0, 0, None, 0),
        (H11, "facility", 2, 0, 0.0, 0, 0, None, 0),
        (H11, "gpu", 6, 6, 1.0, 2, 0, 300.0, 0),
        (H11, "ran_pm", 2, 1, 0.5, 0, 0, None, 0),
    ]


def test_quarantined_files_are_listed_with_their_reasons(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = con.execute(
            "SELECT hour, site, source, kind, file, reason, quarantined_as FROM quarantined_file ORDER BY hour"
        ).fetchall()
    assert rows == [
        (
            H10,
            "tst1",
            "facility",
            "meter_csv",
            "bms-export-1040.csv",
            "no header row",
            "quarantine/meter_csv/tst1/bms-export-1040.csv",
        )
    ]


def test_collector_health_hourly_counts_attempts_and_keeps_the_latest_error(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        rows = con.execute(
            """SELECT hour, target, attempts, failures, ok_ratio, samples, duration_mean_s, duration_max_s,
                      last_ok_at, last_error, last_attempt_at
               FROM collector_health_hourly ORDER BY hour, target"""
        ).fetchall()
    m = dt.timedelta(minutes=1)
    assert rows == [
        (H10, "n1", 2, 0, 1.0, 6, pytest.approx(0.02), 0.02, H10 + 10 * m, None, H10 + 10 * m),
        (
            H10,
            "n2",
            3,
            2,
            pytest.approx(1 / 3),
            5,
            pytest.approx(1.02 / 3),
            0.5,
            H10,
            "NVML_ERROR_DRIVER_NOT_LOADED",
            H10 + 20 * m,
        ),
        (H11, "n1", 1, 0, 1.0, 3, pytest.approx(0.02), 0.02, H11, None, H11),
    ]


def test_node_and_gpu_days_carry_exact_percentiles(mart_run: MartRun) -> None:
    with mart_run.serving() as con:
        node = con.execute(
            "SELECT node, gpus, util_p50_ratio, util_p95_ratio, util_hist FROM node_daily ORDER BY node"
        ).fetchall()
        gpu = dict(con.execute("SELECT gpu_uuid, util_p95_ratio FROM gpu_daily").fetchall())
    # n1: GPU-TS 12 × 80 %, GPU-RAN 12 × 12 % (GPU-MIG reports no board utilisation) → median 12 %, p95 80 %.
    # n2: GPU-RES 2 × 0 % + 10 × 90 %, GPU-RST 3 × 50 % + 9 × 0 %, GPU-IDL 12 × 0 % → 23 zeros of 36.
    assert node[0][:4] == ("n1", 3, 0.12, 0.8)
    assert node[1][:4] == ("n2", 3, 0.0, 0.9)
    assert sum(node[1][4]) == 36
    assert node[1][4][0] == 23
    assert gpu == {"GPU-IDL": 0.0, "GPU-MIG": None, "GPU-RAN": 0.12, "GPU-RES": 0.9, "GPU-RST": 0.5, "GPU-TS": 0.8}

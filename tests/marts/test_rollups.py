"""Histogram rollups: percentiles equal DuckDB's quantile_disc on the raw samples; daily and node rollups sum."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.lib.frames import conform_to_table
from pipelines.lib.rollups import BINS, gpu_daily, hist_quantile, hist_quantile_one, node_daily, sum_hists_by


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10, 20, 100, 359, 360, 1001])
def test_histogram_percentiles_equal_quantile_disc_on_raw_samples(size: int) -> None:
    rng = random.Random(size)
    samples = [min(100, max(0, int(rng.gauss(rng.choice([5, 55, 90]), 12)))) for _ in range(size)]
    hist = np.bincount(samples, minlength=BINS).reshape(1, BINS)
    con = duckdb.connect()
    try:
        for q in (0.0, 0.01, 0.05, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
            expected = con.execute("SELECT quantile_disc(x, ?) FROM (SELECT unnest(?) AS x)", [q, samples]).fetchone()
            assert expected is not None
            assert hist_quantile(hist, q)[0] == expected[0], (size, q)
            assert hist_quantile_one(hist[0].tolist(), q) == expected[0], (size, q)
    finally:
        con.close()


def test_empty_histograms_have_no_percentile() -> None:
    assert np.isnan(hist_quantile(np.zeros((1, BINS), dtype=np.int64), 0.95)[0])
    assert hist_quantile_one([0] * BINS, 0.5) is None


def _hist(**bins: int) -> list[int]:
    out = [0] * BINS
    for key, count in bins.items():
        out[int(key.removeprefix("p"))] = count
    return out


def test_gpu_and_node_days_sum_hours_and_pool_histograms() -> None:
    h = dt.datetime(2026, 11, 20, 10)
    hourly = conform_to_table(
        "gpu_hourly",
        pl.DataFrame(
            {
                "hour": [h, h + dt.timedelta(hours=1), h],
                "site": ["s", "s", "s"],
                "node": ["n1", "n1", "n1"],
                "gpu_uuid": ["A", "A", "B"],
                "gpu_index": [0, 0, 1],
                "model": ["m", "m", "m"],
                "samples": [360, 180, 360],
                "sample_s": [3600.0, 1800.0, 3600.0],
                "util_mean_ratio": [0.2, 0.8, 0.5],
                "util_max_ratio": [0.3, 0.9, 0.5],
                "util_samples": [360, 180, 360],
                "util_sum_ratio": [72.0, 144.0, 180.0],
                "util_hist": [_hist(p10=180, p30=180), _hist(p70=90, p90=90), _hist(p50=360)],
                "busy_s": [720.0, 1440.0, 1800.0],
                "energy_kwh": [0.2, 0.3, 0.25],
                "power_max_w": [300.0, 650.0, 400.0],
                "throttled_s": [0.0, 60.0, 0.0],
                "xid_events": [0, 1, 0],
            }
        ),
    )
    daily = gpu_daily(hourly)
    a = daily.filter(pl.col("gpu_uuid") == "A").row(0, named=True)
    assert (a["hours"], a["samples"], a["sample_s"], a["energy_kwh"], a["xid_events"]) == (2, 540, 5400.0, 0.5, 1)
    assert a["util_mean_ratio"] == pytest.approx((0.2 * 3600 + 0.8 * 1800) / 5400)
    # A's 540 samples: 180 at 10 %, 180 at 30 %, 90 at 70 %, 90 at 90 % → median 30 %, p95 90 %.
    assert (a["util_p50_ratio"], a["util_p95_ratio"]) == (0.3, 0.9)
    node = node_daily(daily).row(0, named=True)
    assert (node["gpus"], node["gpu_hours"], node["xid_events"]) == (2, 2.5, 1)
    # Pooled with B's 360 samples at 50 %: 900 samples; the 450th (median) is among B's, the 855th at 90 %.
    assert sum(node["util_hist"]) == 900
    assert (node["util_p50_ratio"], node["util_p95_ratio"]) == (0.5, 0.9)


def test_sum_hists_by_keeps_groups_with_null_keys_apart() -> None:
    frame = pl.DataFrame(
        {"node": [None, "n1", None], "util_hist": [_hist(p0=1), _hist(p100=2), _hist(p0=3)]},
        schema={"node": pl.String, "util_hist": pl.List(pl.Int32)},
    )
    out = sum_hists_by(frame, ["node"])
    assert out.get_column("node").to_list() == [None, "n1"]
    assert [h[0] for h in out.get_column("util_hist").to_list()] == [4, 0]
    assert out.get_column("util_p50_ratio").to_list() == [0.0, 1.0]

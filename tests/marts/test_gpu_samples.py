"""The fast landing reader and sample cleaning: equal to the landing zone's own reader, duplicates and disorder
resolved, holders flattened with their sample."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from collectors import atomic
from collectors.landing import LandingZone
from collectors.schemas import GPU_SAMPLE
from pipelines.lib.gpu_samples import clean_hour, read_landed

H = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def _rows(specs: list[dict[str, Any]]) -> pl.DataFrame:
    base = {"interval_s": 10.0, "site": "s", "node": "n", "gpu_uuid": "G", "source": "nvml", "producer": "nvml@n"}
    return pl.from_dicts([{**base, **s} for s in specs], schema=GPU_SAMPLE.polars_schema, strict=False)


def _at(seconds: int) -> dt.datetime:
    return H + dt.timedelta(seconds=seconds)


def test_fast_reader_equals_the_landing_zone_reader_on_mixed_schema_files(tmp_path: Path) -> None:
    landing = LandingZone(tmp_path)
    landing.write_batch("gpu", "nvml@n", _rows([{"ts": _at(0), "power_w": 100.0, "holders": []}]))
    # An older producer's file without most columns, and one with a column the schema does not know.
    hour_dir = landing.hour_dir("gpu", H)
    atomic.write_parquet(
        hour_dir / "old-agent-20261120T100010Z-0000.parquet",
        pl.DataFrame(
            {
                "ts": [_at(10)],
                "interval_s": [10.0],
                "site": ["s"],
                "node": ["n"],
                "gpu_uuid": ["G"],
                "source": ["nvml"],
                "producer": ["old"],
            }
        ).with_columns(pl.col("ts").dt.replace_time_zone("UTC")),
    )
    atomic.write_parquet(
        hour_dir / "new-agent-20261120T100020Z-0000.parquet",
        _rows([{"ts": _at(20), "util_ratio": 0.5}]).with_columns(pl.lit(7).alias("future_column")),
    )
    fast = read_landed(landing, H)
    reference = landing.read_hour("gpu", H)
    assert_frame_equal(fast.sort("ts"), reference.sort("ts"))
    assert fast.height == 3
    assert read_landed(landing, H, head_s=15).get_column("ts").to_list() == [_at(0), _at(10)]


def test_a_file_that_does_not_fit_the_scan_falls_back_to_per_file_reading(tmp_path: Path) -> None:
    landing = LandingZone(tmp_path)
    hour_dir = landing.hour_dir("gpu", H)
    # util_ratio as text: the one-pass scan refuses it, the per-file reader casts it like the landing zone does.
    atomic.write_parquet(
        hour_dir / "odd-20261120T100000Z-0000.parquet",
        _rows([{"ts": _at(0)}]).with_columns(pl.lit("0.25").alias("util_ratio")),
    )
    assert read_landed(landing, H).get_column("util_ratio").to_list() == [0.25]


def test_duplicates_prefer_nvml_and_out_of_order_rows_are_ordered() -> None:
    hour = _rows(
        [
            {"ts": _at(20), "power_w": 100.0, "energy_counter_j": 2000.0},
            {"ts": _at(0), "power_w": 100.0, "energy_counter_j": 0.0, "source": "dcgm", "producer": "dcgm@n"},
            {"ts": _at(0), "power_w": 100.0, "energy_counter_j": 0.0},
            {"ts": _at(10), "power_w": 100.0, "energy_counter_j": 1000.0, "source": "prometheus", "producer": "prom"},
        ]
    )
    out = clean_hour(hour, pl.DataFrame()).samples.sort("ts")
    assert out.get_column("source").to_list() == ["nvml", "prometheus", "nvml"]
    assert out.get_column("energy_j").to_list() == [1000.0, 1000.0, 1000.0]
    assert out.get_column("energy_method").to_list() == ["counter", "counter", "power"]


def test_holders_leave_the_sample_for_a_flat_table_keyed_by_sample() -> None:
    def holder(ns: str, util: float | None) -> dict[str, Any]:
        return {
            "namespace": ns,
            "pod": ns + "-0",
            "container": None,
            "pod_uid": None,
            "hpc_job": None,
            "pid": 9,
            "util_ratio": util,
            "mem_used_bytes": None,
        }

    hour = _rows(
        [
            {"ts": _at(0), "holders": [holder("a", 0.3), holder("b", 0.1)]},
            {"ts": _at(10), "holders": [holder("a", None), holder("b", 0.1)]},
            {"ts": _at(20), "holders": []},
        ]
    )
    clean = clean_hour(hour, pl.DataFrame())
    samples = clean.samples.sort("ts").select("sample_seq", "holder_count", "holder_util_sum").rows()
    assert samples == [(0, 2, pytest.approx(0.4)), (1, 2, None), (2, 0, None)]
    holders = clean.holders.sort("sample_seq", "position").select("sample_seq", "position", "namespace", "util_ratio")
    assert holders.rows() == [(0, 0, "a", 0.3), (0, 1, "b", 0.1), (1, 0, "a", None), (1, 1, "b", 0.1)]


def test_the_next_hours_first_sample_closes_whole_gpus_but_not_mig_instances() -> None:
    hour = _rows(
        [
            {"ts": _at(3590), "power_w": 100.0, "energy_counter_j": 0.0},
            {"ts": _at(3590), "gpu_instance_id": 1, "mig_profile": "1g.10gb"},
        ]
    )
    nxt = _rows([{"ts": _at(3600), "power_w": 100.0, "energy_counter_j": 1200.0}, {"ts": _at(3610), "power_w": 1.0}])
    out = clean_hour(hour, nxt).samples.sort("gpu_instance_id", nulls_last=False)
    assert out.get_column("energy_j").to_list() == [1200.0, None]
    assert out.get_column("energy_method").to_list() == ["counter", "none"]
    assert out.get_column("interval_s").to_list() == [10.0, 10.0]

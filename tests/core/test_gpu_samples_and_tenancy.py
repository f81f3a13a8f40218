"""Interval energy from counters, and attribution of samples to tenants, on hand-computed cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from collectors.errors import ConfigError
from collectors.schemas import GPU_SAMPLE
from pipelines.lib.attribution import attribute
from pipelines.lib.gpu_samples import clean_samples, split_holders
from pipelines.lib.tenancy import glob_regex, load_tenants

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _rows(specs: list[dict[str, Any]]) -> pl.DataFrame:
    base = {"interval_s": 10.0, "site": "tyo1", "node": "n1", "source": "nvml", "producer": "agent@n1", "holders": []}
    return pl.from_dicts([{**base, **s} for s in specs], schema=GPU_SAMPLE.polars_schema)


def _at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_energy_from_counter_deltas_with_reset_gap_and_next_hour() -> None:
    # Counter in J. Sample 3 follows a driver reload (counter restarts); sample 4 comes after a 20 s gap
    # (one missing sample: carried forward); the last interval ends at the next hour's first sample.
    hour = _rows(
        [
            {"gpu_uuid": "G", "ts": _at(0), "power_w": 300.0, "energy_counter_j": 10_000.0},
            {"gpu_uuid": "G", "ts": _at(10), "power_w": 310.0, "energy_counter_j": 13_000.0},
            {"gpu_uuid": "G", "ts": _at(20), "power_w": 320.0, "energy_counter_j": 50.0},
            {"gpu_uuid": "G", "ts": _at(3590), "power_w": 200.0, "energy_counter_j": 100_000.0},
        ]
    )
    nxt = _rows([{"gpu_uuid": "G", "ts": _at(3600), "power_w": 210.0, "energy_counter_j": 102_050.0}])
    out = clean_samples(hour, nxt).sort("ts")
    assert out.get_column("energy_method").to_list() == ["counter", "power", "power", "counter"]
    # 0→10 s: 3000 J from the counter; 10→20 s: the counter went backwards, so power × 10 s = 3100 J;
    # 20 s: next sample is 3570 s later (beyond 3 intervals) → its own 10 s at 320 W; last: 2050 J.
    assert out.get_column("energy_j").to_list() == [3000.0, 3100.0, 3200.0, 2050.0]
    assert out.get_column("interval_s").to_list() == [10.0, 10.0, 10.0, 10.0]


def test_a_missing_sample_is_carried_forward_and_duplicates_prefer_nvml() -> None:
    hour = _rows(
        [
            {"gpu_uuid": "G", "ts": _at(0), "power_w": 100.0, "energy_counter_j": 0.0},
            {"gpu_uuid": "G", "ts": _at(0), "power_w": 999.0, "energy_counter_j": 0.0, "source": "dcgm"},
            {"gpu_uuid": "G", "ts": _at(20), "power_w": 100.0, "energy_counter_j": 2000.0},
            {"gpu_uuid": "G", "ts": _at(30), "power_w": 100.0, "energy_counter_j": 3000.0},
        ]
    )
    out = clean_samples(hour, pl.DataFrame()).sort("ts")
    assert out.height == 3
    assert out.get_column("power_w").to_list() == [100.0, 100.0, 100.0]
    assert out.get_column("interval_s").to_list() == [20.0, 10.0, 10.0]
    assert out.get_column("energy_j").to_list() == [2000.0, 1000.0, 1000.0]


TENANTS = """
version: 1
tenants:
  - id: sakura-ai
    name: Sakura AI
    namespaces: ["sakura-*"]
  - id: kyoto-univ
    name: Kyoto University
    hpc_job_prefixes: ["88"]
    reservations:
      - gpus: [GPU-R]
        from: 2026-11-20T10:00:00Z
        until: 2026-11-20T10:00:25Z
  - id: ai-ran
    name: AI-RAN
    kind: ran
    namespaces: [ran-du]
"""


def _holder(namespace: str | None = None, job: str | None = None, util: float | None = None) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "pod": None,
        "container": None,
        "pod_uid": None,
        "hpc_job": job,
        "pid": 1,
        "util_ratio": util,
        "mem_used_bytes": None,
    }


def test_attribution_order_shares_and_invariant(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS)
    config = load_tenants(path)
    samples = _rows(
        [
            # Reserved GPU: the reservation wins over the sakura pod running on it, until it ends at 10:00:25.
            {"gpu_uuid": "GPU-R", "ts": _at(10), "util_ratio": 0.5, "holders": [_holder("sakura-x")]},
            {"gpu_uuid": "GPU-R", "ts": _at(30), "util_ratio": 0.5, "holders": [_holder("sakura-x")]},
            # Time-sliced GPU: two holders with known utilisation share 3:1.
            {
                "gpu_uuid": "GPU-T",
                "ts": _at(10),
                "util_ratio": 0.8,
                "holders": [_holder("sakura-a", util=0.6), _holder("ran-du", util=0.2)],
            },
            # HPC job matched by prefix; an unknown namespace; nobody.
            {"gpu_uuid": "GPU-J", "ts": _at(10), "util_ratio": 1.0, "holders": [_holder(job="88123")]},
            {"gpu_uuid": "GPU-U", "ts": _at(10), "util_ratio": 0.3, "holders": [_holder("ops-sandbox")]},
            {"gpu_uuid": "GPU-I", "ts": _at(10), "util_ratio": 0.0, "holders": []},
        ]
    ).with_columns(pl.col("interval_s") * 1, pl.lit(1000.0).alias("energy_j"))
    got = attribute(*split_holders(samples), config).sort("gpu_uuid", "ts", "tenant")
    expected = [
        ("GPU-I", "idle", 10.0, 0.0, 1000.0),
        ("GPU-J", "kyoto-univ", 10.0, 10.0, 1000.0),
        ("GPU-R", "kyoto-univ", 10.0, 5.0, 1000.0),
        ("GPU-R", "sakura-ai", 10.0, 5.0, 1000.0),
        ("GPU-T", "ai-ran", 2.5, 2.0, 250.0),
        ("GPU-T", "sakura-ai", 7.5, 6.0, 750.0),
        ("GPU-U", "unattributed", 10.0, 3.0, 1000.0),
    ]
    assert [(r["gpu_uuid"], r["tenant"]) for r in got.iter_rows(named=True)] == [e[:2] for e in expected]
    numbers = got.select("gpu_s", "busy_s", "energy_j").rows()
    assert numbers == [pytest.approx(e[2:]) for e in expected]
    assert got.get_column("energy_j").sum() == samples.get_column("energy_j").sum()
    assert got.get_column("gpu_s").sum() == samples.get_column("interval_s").sum()


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        ("version: 1\ntenants:\n  - id: idle\n    name: x\n", "reserved", "tenants[idle].id"),
        ("version: 1\ntenants:\n  - id: a\n    name: A\n    colour: red\n", "Extra inputs", "tenants[a].colour"),
        ("version: 1\ntenants:\n  - id: a\n    name: A\n  - id: a\n    name: B\n", "appears twice", None),
        (
            "version: 1\ntenants:\n  - id: a\n    name: A\n    reservations:\n      - gpus: [G]\n"
            "        from: 2026-11-20T10:00:00Z\n        until: 2026-11-20T09:00:00Z\n",
            "'until' must be after 'from'",
            "tenants[a].reservations[0]",
        ),
        ("tenants: [\n", "not valid YAML", None),
    ],
)
def test_invalid_tenants_yaml_names_the_field(tmp_path: Path, text: str, message: str, field: str | None) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_tenants(path)
    assert message in str(info.value)
    assert info.value.field == field
    assert str(path) in str(info.value)


def test_glob_patterns_are_anchored() -> None:
    import re

    assert re.match(glob_regex("sakura-*"), "sakura-ai-train")
    assert not re.match(glob_regex("sakura-*"), "xsakura-ai")
    assert re.match(glob_regex("ran-du"), "ran-du")
    assert not re.match(glob_regex("ran-du"), "ran-du-2")
    assert re.match(glob_regex("team.?"), "team.a")

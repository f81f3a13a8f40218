"""Attribution edge cases on single samples, each worked out by hand (10 s samples, 1000 J each)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from collectors.schemas import GPU_SAMPLE
from pipelines.lib.attribution import attribute
from pipelines.lib.gpu_samples import split_holders
from pipelines.lib.tenancy import TenantConfig

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _holder(
    namespace: str | None = None, pod: str | None = None, job: str | None = None, util: float | None = None
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "pod": pod,
        "container": None,
        "pod_uid": None,
        "hpc_job": job,
        "pid": 1,
        "util_ratio": util,
        "mem_used_bytes": None,
    }


def _split(config: dict[str, Any], rows: list[dict[str, Any]]) -> dict[tuple[object, str], tuple[float, float, float]]:
    base = {
        "interval_s": 10.0,
        "site": "s",
        "node": "n",
        "gpu_uuid": "G",
        "model": "NVIDIA H100 80GB HBM3",
        "source": "nvml",
        "producer": "p",
        "holders": [],
        "ts": T0,
    }
    frame = pl.from_dicts([{**base, **r} for r in rows], schema=GPU_SAMPLE.polars_schema, strict=False)
    frame = frame.with_columns(pl.when(pl.col("gpu_instance_id").is_null()).then(pl.lit(1000.0)).alias("energy_j"))
    samples, holders = split_holders(frame)
    out = attribute(samples, holders, TenantConfig.model_validate(config))
    assert out.get_column("energy_j").sum() == pytest.approx(
        1000.0 * frame.get_column("gpu_instance_id").is_null().sum()
    )
    return {
        (r["gpu_instance_id"], r["tenant"]): (r["gpu_s"], r["busy_s"], r["energy_j"]) for r in out.iter_rows(named=True)
    }


TENANTS = {
    "slurm_jobs_file": "x",
    "tenants": [
        {"id": "alpha", "name": "A", "namespaces": ["alpha-*"]},
        {"id": "beta", "name": "B", "pods": ["serve-*"], "hpc_job_prefixes": ["77"]},
        {"id": "gamma", "name": "G", "slurm_accounts": ["g-lab"]},
    ],
}


def test_rule_order_account_then_job_prefix_then_pod_then_namespace() -> None:
    from pipelines.lib.attribution import tenant_expr

    config = TenantConfig.model_validate(TENANTS)
    holders = pl.DataFrame(
        {
            "h_account": ["g-lab", None, None, None, None],
            "h_hpc_job": ["7701", "7702", None, None, None],
            "h_pod": ["serve-1", None, "serve-2", "serve-3", "other"],
            "h_namespace": ["alpha-x", "alpha-x", "alpha-x", "zeta", "zeta"],
        }
    )
    assert holders.select(tenant_expr(config)).to_series().to_list() == [
        "gamma",  # the Slurm account wins over the job prefix, the pod and the namespace
        "beta",  # the job prefix wins over the namespace
        "beta",  # the pod wins over the namespace
        "beta",
        "unattributed",
    ]


def test_mig_profiles_that_cannot_be_read_share_the_board_equally() -> None:
    parent = {"power_w": 300.0}
    got = _split(
        TENANTS,
        [
            parent,
            {"gpu_instance_id": 1, "mig_profile": "odd", "holders": [_holder("alpha-a")]},
            {"gpu_instance_id": 2, "mig_profile": "2g.20gb", "holders": [_holder("zeta")]},
        ],
    )
    assert got == {
        (1, "alpha"): pytest.approx((5.0, 0.0, 500.0)),
        (2, "unattributed"): pytest.approx((5.0, 0.0, 500.0)),
    }


def test_a30_boards_have_four_slices() -> None:
    got = _split(
        TENANTS,
        [
            {"model": "NVIDIA A30"},
            {
                "model": "NVIDIA A30",
                "gpu_instance_id": 1,
                "mig_profile": "1g.6gb",
                "holders": [_holder("alpha-a")],
                "gr_engine_active_ratio": 0.8,
            },
        ],
    )
    assert got == {(1, "alpha"): pytest.approx((2.5, 2.0, 250.0)), (None, "idle"): pytest.approx((7.5, 0.0, 750.0))}


def test_a_whole_gpu_reservation_takes_every_slice_of_a_mig_board() -> None:
    config = {
        **TENANTS,
        "tenants": [
            *TENANTS["tenants"],
            {
                "id": "delta",
                "name": "D",
                "reservations": [{"gpus": ["G"], "from": "2026-11-20T09:00:00Z", "until": "2026-11-20T11:00:00Z"}],
            },
        ],
    }
    got = _split(
        config,
        [{}, {"gpu_instance_id": 1, "mig_profile": "3g.40gb", "holders": [_holder("alpha-a")]}],
    )
    assert got == {
        (1, "delta"): pytest.approx((30 / 7, 0.0, 3000 / 7)),
        (None, "delta"): pytest.approx((40 / 7, 0.0, 4000 / 7)),
    }


def test_a_mig_instance_reservation_ending_mid_sample_is_split_at_its_end() -> None:
    config = {
        **TENANTS,
        "tenants": [
            *TENANTS["tenants"],
            {
                "id": "delta",
                "name": "D",
                "reservations": [
                    {"mig_instances": ["G/1"], "from": "2026-11-20T09:00:00Z", "until": "2026-11-20T10:00:04Z"}
                ],
            },
        ],
    }
    got = _split(
        config,
        [
            {},
            {
                "gpu_instance_id": 1,
                "mig_profile": "7g.80gb",
                "holders": [_holder("alpha-a")],
                "gr_engine_active_ratio": 0.5,
            },
        ],
    )
    # 4 s of the 10 s sample are delta's (reserved), 6 s alpha's; busy follows the instance's activity.
    assert got == {(1, "delta"): pytest.approx((4.0, 2.0, 400.0)), (1, "alpha"): pytest.approx((6.0, 3.0, 600.0))}


@pytest.mark.parametrize(
    ("utils", "expected_alpha"),
    [
        ((0.3, 0.1), 7.5),  # known: 3:1
        ((0.3, None), 5.0),  # one unknown: equal
        ((0.0, 0.0), 5.0),  # both idle: equal
    ],
)
def test_time_sliced_shares_follow_known_process_utilisation(
    utils: tuple[float | None, float | None], expected_alpha: float
) -> None:
    got = _split(
        TENANTS,
        [{"util_ratio": 0.4, "holders": [_holder("alpha-a", util=utils[0]), _holder("zeta", util=utils[1])]}],
    )
    assert got[(None, "alpha")][0] == pytest.approx(expected_alpha)
    assert got[(None, "unattributed")][0] == pytest.approx(10.0 - expected_alpha)


def test_two_pods_of_one_tenant_on_one_gpu_make_one_line() -> None:
    got = _split(TENANTS, [{"util_ratio": 0.5, "holders": [_holder("alpha-a"), _holder("alpha-b")]}])
    assert got == {(None, "alpha"): pytest.approx((10.0, 5.0, 1000.0))}

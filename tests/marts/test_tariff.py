"""tariff.yaml: prices by site, GPU model and validity window; costs per usage row; idle capacity shared out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from collectors.errors import ConfigError
from pipelines.lib.tariff import load_tariff, price_usage
from pipelines.lib.usage import share_idle

TARIFF = """\
version: 1
currency: EUR
idle_policy: even
energy:
  - price_per_kwh: 0.30
    sites: ["fra*"]
    until: 2026-11-15T00:00:00Z
  - price_per_kwh: 0.25
gpu_hour:
  - model: "NVIDIA H100*"
    price_per_gpu_hour: 2.5
    sites: [fra1]
  - model: "NVIDIA H100*"
    price_per_gpu_hour: 2.0
"""
NOV1 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
NOV20 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def test_first_matching_price_by_site_model_and_window(tmp_path: Path) -> None:
    path = tmp_path / "tariff.yaml"
    path.write_text(TARIFF)
    tariff = load_tariff(path)
    assert tariff is not None
    assert tariff.energy_price("fra1", NOV1) == 0.30
    assert tariff.energy_price("fra1", NOV20) == 0.25  # the first entry expired on the 15th
    assert tariff.energy_price("tyo1", NOV1) == 0.25
    assert tariff.gpu_hour_price("fra1", "NVIDIA H100 80GB HBM3", NOV1) == 2.5
    assert tariff.gpu_hour_price("tyo1", "NVIDIA H100 80GB HBM3", NOV1) == 2.0
    assert tariff.gpu_hour_price("tyo1", "NVIDIA B200", NOV1) is None
    assert [r["item"] for r in tariff.rows()] == ["energy", "energy", "gpu_hour", "gpu_hour"]


def test_no_tariff_file_means_no_prices(tmp_path: Path) -> None:
    assert load_tariff(tmp_path / "tariff.yaml") is None
    usage = pl.DataFrame(
        {"site": ["s"], "model": ["m"], "gpu_hours": [1.0], "facility_energy_kwh": [1.0], "gpu_energy_kwh": [1.0]}
    )
    priced = price_usage(usage, None, NOV1)
    assert priced.row(0, named=True)["cost"] is None


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        (("currency: EUR", "currency: euro"), "an ISO 4217 code", "currency"),
        (("price_per_kwh: 0.25", "price_per_kwh: -1"), "greater than or equal to 0", "energy[1].price_per_kwh"),
        (("idle_policy: even", "idle_policy: fair"), "'separate', 'even' or 'weighted'", "idle_policy"),
        (
            ("until: 2026-11-15T00:00:00Z", "until: 2026-01-01T00:00:00Z\n    from: 2026-02-01T00:00:00Z"),
            "'until' must be after 'from'",
            "energy[0]",
        ),
    ],
)
def test_bad_tariffs_name_the_field(tmp_path: Path, change: tuple[str, str], message: str, field: str) -> None:
    path = tmp_path / "tariff.yaml"
    path.write_text(TARIFF.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_tariff(path)
    assert message in str(info.value)
    assert info.value.field == field


def test_costs_use_facility_energy_and_fall_back_to_gpu_energy_without_pue(tmp_path: Path) -> None:
    path = tmp_path / "tariff.yaml"
    path.write_text(TARIFF)
    usage = pl.DataFrame(
        {
            "site": ["tyo1", "tyo1"],
            "model": ["NVIDIA H100 80GB HBM3", "NVIDIA B200"],
            "gpu_hours": [10.0, 4.0],
            "gpu_energy_kwh": [5.0, 3.0],
            "facility_energy_kwh": [6.5, None],
        }
    )
    priced = price_usage(usage, load_tariff(path), NOV20).select("gpu_hour_cost", "energy_cost", "cost", "currency")
    assert priced.rows() == [
        (pytest.approx(20.0), pytest.approx(6.5 * 0.25), pytest.approx(20.0 + 6.5 * 0.25), "EUR"),
        (None, pytest.approx(3.0 * 0.25), pytest.approx(3.0 * 0.25), "EUR"),  # no GPU-hour price for B200
    ]


def _monthly() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [dt.date(2026, 11, 1)] * 5,
            "site": ["s"] * 5,
            "model": ["m"] * 5,
            "tenant": ["a", "b", "ran", "idle", "unattributed"],
            "kind": ["ai", "ai", "ran", "idle", "unattributed"],
            "gpu_hours": [30.0, 10.0, 0.0, 12.0, 5.0],
            "gpu_energy_kwh": [3.0, 1.0, 0.0, 2.4, 0.5],
            "cost": [300.0, 100.0, 0.0, 120.0, 50.0],
        }
    )


@pytest.mark.parametrize(
    ("policy", "a", "b"),
    [("weighted", 12.0 * 30 / 40, 12.0 * 10 / 40), ("even", 6.0, 6.0), ("separate", 0.0, 0.0)],
)
def test_idle_capacity_is_shared_by_policy_and_nets_to_zero(policy: str, a: float, b: float) -> None:
    shared = share_idle(_monthly(), policy)
    hours = dict(zip(shared.get_column("tenant"), shared.get_column("idle_share_gpu_hours"), strict=True))
    costs = dict(zip(shared.get_column("tenant"), shared.get_column("idle_share_cost"), strict=True))
    assert hours["a"] == pytest.approx(a)
    assert hours["b"] == pytest.approx(b)
    assert hours["ran"] == 0.0  # the RAN held no GPU of this site and model this month: nothing to share to it
    assert hours["unattributed"] == 0.0
    assert sum(hours.values()) == pytest.approx(0.0)
    assert costs["a"] == pytest.approx(a * 10.0)  # idle cost 120 for 12 GPU-hours
    assert set(shared.get_column("idle_policy")) == {policy}

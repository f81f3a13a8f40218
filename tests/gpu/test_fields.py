"""The canonical GPU field map and the exporter name table agree with the landing schema and each other."""

from __future__ import annotations

import pytest

from collectors.gpu.dcgm.names import METRICS, UNIT_FACTORS, Generation, help_unit, resolve_unit
from collectors.gpu.fields import (
    BY_COLUMN,
    BY_ID,
    DCGM_FP64_BLANK,
    DCGM_INT64_BLANK,
    DERIVED_ONLY,
    FIELDS,
    Kind,
    landed_columns,
)
from collectors.schemas import GPU_SAMPLE


def test_every_field_lands_in_a_declared_column_once() -> None:
    columns = landed_columns()
    assert len(columns) == len(set(columns))
    assert set(columns) <= set(GPU_SAMPLE.columns)
    assert set(BY_COLUMN) - set(columns) == DERIVED_ONLY
    assert len(BY_ID) == len(FIELDS)


def test_every_exporter_name_maps_to_a_known_field_and_unit() -> None:
    for name, meta in METRICS.items():
        assert meta.dcgm_id in BY_ID, name
        assert meta.legacy_unit in UNIT_FACTORS, name
        assert meta.unit_49 is None or meta.unit_49 in UNIT_FACTORS, name


def test_each_generation_names_the_default_counters() -> None:
    default_ids = {100, 101, 140, 150, 155, 156, 202, 203, 204, 206, 207, 230, 251, 252, 253, 449, 526, 393, 394, 395}
    default_ids |= {1001, 1004, 1005, 1009, 1010}
    for generation in (Generation.LEGACY, Generation.V49):
        named = {m.dcgm_id for m in METRICS.values() if m.generation in (generation, None)}
        assert default_ids <= named, generation
    v1 = {m.dcgm_id for m in METRICS.values() if m.generation is Generation.V1}
    assert {100, 150, 155, 156, 203, 252} <= v1


def test_blank_sentinels_follow_the_dcgm_value_type() -> None:
    power = BY_ID[155]  # fp64
    energy = BY_ID[156]  # int64
    assert power.is_blank(DCGM_FP64_BLANK)
    assert power.is_blank(DCGM_FP64_BLANK + 2)  # NOT_SUPPORTED
    assert not power.is_blank(700.0)
    assert energy.is_blank(float(DCGM_INT64_BLANK + 2))  # 9223372036854775794 as printed in the README
    assert energy.is_blank(9223372036854775794.0)
    # An energy counter in mJ far above the fp64 blank is a real reading for an int64 field.
    assert not energy.is_blank(2e14)


def test_counters_and_gauges() -> None:
    assert BY_COLUMN["energy_counter_j"].kind is Kind.COUNTER
    assert BY_COLUMN["pcie_replay_total"].kind is Kind.COUNTER
    assert BY_COLUMN["power_w"].kind is Kind.GAUGE
    # Typed counter by dcgm-exporter but decreases (NVIDIA/dcgm-exporter#417): a gauge here.
    assert BY_COLUMN["nvlink_bytes_s"].kind is Kind.GAUGE
    assert all(f.lo >= 0 for f in FIELDS if f.kind is Kind.COUNTER)


@pytest.mark.parametrize(
    ("help_text", "unit"),
    [
        ("SM clock frequency (in MHz).", "MHz"),
        ("SM clock frequency (in Hz).", "Hz"),
        ("Total energy consumption since boot (in mJ).", "mJ"),
        ("GPU utilization (in %).", "%"),
        ("Framebuffer memory used (in MiB).", "MiB"),
        ("Memory temperature (in C).", "degC"),
        ("Ratio of time the graphics engine is active.", None),
        (None, None),
    ],
)
def test_units_stated_in_help_texts(help_text: str | None, unit: str | None) -> None:
    assert help_unit(help_text) == unit


def test_unit_resolution_order() -> None:
    sm = METRICS["DCGM_FI_DEV_SM_CLOCK"]
    assert resolve_unit(sm, help_text=None, generation=None) == "MHz"
    assert resolve_unit(sm, help_text=None, generation=Generation.V49) == "Hz"
    # The family's own HELP text wins over the scrape's generation.
    assert resolve_unit(sm, help_text="SM clock frequency (in MHz).", generation=Generation.V49) == "MHz"
    # Renamed names carry their unit whatever else the scrape says.
    assert resolve_unit(METRICS["DCGM_FI_DEV_GPU_UTIL_RATIO"], help_text="(in %)", generation=None) == "ratio"
    assert resolve_unit(METRICS["dcgm_fb_used"], help_text=None, generation=Generation.V49) == "MiB"

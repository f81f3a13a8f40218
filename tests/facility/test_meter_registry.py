"""The meter registry: loading, validation errors that name meter, field and line, look-ups, effective dating."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from collectors.errors import ConfigError
from collectors.facility.registry import ROLE_CATEGORY, load_meters, wrap_modulus

GOOD = """\
version: 1
meters:
  - id: tyo1-utility-kwh        # the id the CSV (or Redfish) uses
    site: tyo1
    role: facility_total
    quantity: energy_register
    unit: kWh
    rating_kw: 2500
    register_max: 999999.9
    zone: hall-1
  - id: tyo1-ups-a-wh
    site: tyo1
    role: ups_output
    quantity: energy_register
    unit: Wh
  - id: tyo1-crah-kw
    site: tyo1
    role: cooling
    quantity: power
    unit: kW
    interval_s: 60
  - id: osa1-pdu-out
    site: osa1
    role: pdu_output
    quantity: energy_register
    unit: MWh
    valid_to: 2026-06-01
  - id: osa1-pdu-out
    site: osa1
    role: it_input
    quantity: energy_register
    unit: MWh
    valid_from: 2026-06-01
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meters.yaml"
    path.write_text(text)
    return path


def test_registry_loads_with_units_categories_and_wrap_points(tmp_path: Path) -> None:
    registry = load_meters(_write(tmp_path, GOOD))
    utility = registry.by_id("tyo1-utility-kwh")
    assert utility is not None
    assert (utility.site, utility.role, utility.zone, utility.category) == ("tyo1", "facility_total", "hall-1", None)
    assert utility.wrap_kwh == 1_000_000.0
    assert utility.max_power_w == pytest.approx(2_750_000.0)  # 2500 kW rating + 10 % margin
    ups = registry.by_id("tyo1-ups-a-wh")
    assert ups is not None
    assert (ups.category, ups.unit_factor) == (1, 0.001)
    crah = registry.by_id("tyo1-crah-kw")
    assert crah is not None
    assert (crah.quantity, crah.unit_factor, crah.interval_s) == ("power", 1000.0, 60.0)
    assert registry.by_id("nope") is None
    assert registry.sites == ["osa1", "tyo1"]
    assert ROLE_CATEGORY == {"ups_output": 1, "pdu_output": 2, "it_input": 3}


def test_effective_dating_picks_the_entry_valid_at_a_time(tmp_path: Path) -> None:
    registry = load_meters(_write(tmp_path, GOOD))
    before = registry.by_id("osa1-pdu-out", at=dt.datetime(2026, 5, 31, 23, 59, tzinfo=dt.UTC))
    after = registry.by_id("osa1-pdu-out", at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert before is not None
    assert before.role == "pdu_output"
    assert after is not None
    assert after.role == "it_input"
    latest = registry.by_id("osa1-pdu-out")
    assert latest is not None
    assert latest.role == "it_input"
    frame = registry.frame()
    assert frame.height == 5
    assert frame.filter(frame["meter_id"] == "osa1-pdu-out")["category"].to_list() == [2, 3]


@pytest.mark.parametrize(
    ("edit", "line", "field", "words"),
    [
        (("role: ups_output", "role: ups_out"), 13, "role", ["meter 'tyo1-ups-a-wh'", "got 'ups_out'"]),
        (("unit: kW\n", "unit: kWh\n"), 20, "unit", ["meter 'tyo1-crah-kw'", "not a power unit"]),
        (("rating_kw: 2500", "rating_kw: -5"), 8, "rating_kw", ["meter 'tyo1-utility-kwh'", "greater than 0"]),
        (("    zone: hall-1", "    zone: hall-1\n    colour: red"), 11, "colour", ["unknown field"]),
        (("    site: tyo1\n    role: cooling", "    role: cooling"), 16, "site", ["meter 'tyo1-crah-kw'", "required"]),
        (("valid_from: 2026-06-01", "valid_from: 2026-05-01"), 28, "id", ["declared twice", "osa1-pdu-out"]),
    ],
)
def test_validation_errors_name_the_meter_field_and_line(
    tmp_path: Path, edit: tuple[str, str], line: int, field: str | None, words: list[str]
) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(ConfigError) as info:
        load_meters(_write(tmp_path, text))
    err = info.value
    assert err.line == line
    assert err.field == field
    for word in words:
        assert word in str(err)
    assert str(err).startswith(f"{tmp_path / 'meters.yaml'}:line {line}")


def test_register_max_on_a_power_meter_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("    interval_s: 60", "    interval_s: 60\n    register_max: 1000")
    with pytest.raises(ConfigError, match="register_max only applies to quantity energy_register"):
        load_meters(_write(tmp_path, text))


def test_missing_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="meter registry not found"):
        load_meters(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_meters(_write(tmp_path, "version: 1\nmeters:\n  - id: [unclosed\n"))
    assert info.value.line == 4
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_meters(_write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(ConfigError, match="Input should be 1") as info:
        load_meters(_write(tmp_path, "version: 2\nmeters: []\n"))
    assert (info.value.line, info.value.field) == (1, "version")


@pytest.mark.parametrize(
    ("register_max", "modulus"),
    [(999999.9, 1_000_000.0), (99999999, 100_000_000.0), (9.99, 10.0), (1048576, 1048576.0), (250000.5, 250000.5)],
)
def test_wrap_modulus(register_max: float, modulus: float) -> None:
    assert wrap_modulus(register_max) == modulus

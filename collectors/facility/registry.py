"""The meter registry (``config/meters.yaml``): what each facility meter measures, where, and in which unit.

Readings carry only a meter id and a number. Whether that number is the utility feed, a UPS output, a
rack PDU outlet or a chiller, and whether it is a cumulative register or a power gauge, is declared once
here by the operator. PUE needs exactly this: E_DC from ``facility_total`` meters and E_IT from the best
available IT metering point (The Green Grid categories: 1 = UPS output, 2 = PDU output, 3 = IT equipment
input). Entries may be effective-dated (``valid_from``/``valid_to``) so that re-wiring a meter changes its
role from a date on without rewriting history.

Example::

    version: 1
    meters:
      - id: tyo1-utility-kwh
        site: tyo1
        role: facility_total
        quantity: energy_register
        unit: kWh
        rating_kw: 2500
        register_max: 999999.9
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collectors.errors import ConfigError

Role = Literal["facility_total", "ups_output", "pdu_output", "it_input", "cooling", "lighting", "other"]
Quantity = Literal["energy_register", "power"]

ROLES: tuple[str, ...] = ("facility_total", "ups_output", "pdu_output", "it_input", "cooling", "lighting", "other")

#: The Green Grid / ISO 30134-2 measurement category implied by where IT energy is metered.
ROLE_CATEGORY: dict[str, int] = {"ups_output": 1, "pdu_output": 2, "it_input": 3}

#: Register units and their size in kWh (``kW.h`` is the UCUM spelling Redfish uses).
REGISTER_UNITS: dict[str, float] = {"kWh": 1.0, "kW.h": 1.0, "Wh": 1e-3, "W.h": 1e-3, "MWh": 1e3, "J": 1 / 3.6e6}
#: Power units and their size in W.
POWER_UNITS: dict[str, float] = {"W": 1.0, "kW": 1e3, "MW": 1e6}

#: Plausibility margin on a meter's rating: a delta implying more than rating × this is a glitch.
RATING_MARGIN = 1.1


def _as_utc(value: object) -> object:
    """YAML gives dates for ``2026-04-01`` and naive datetimes for ``2026-04-01 09:00``; both are UTC."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value


class Meter(BaseModel):
    """One meter as the operator declared it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="the id the CSV or Redfish readings use")
    site: str = Field(min_length=1)
    role: Role
    quantity: Quantity
    unit: str
    rating_kw: float | None = Field(default=None, gt=0, description="plausibility cap")
    register_max: float | None = Field(default=None, gt=0, description="wrap point of the register (its unit)")
    zone: str | None = None
    interval_s: float | None = Field(default=None, gt=0, description="nominal reading interval")
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    description: str | None = None

    _utc = field_validator("valid_from", "valid_to", mode="before")(_as_utc)

    @model_validator(mode="after")
    def _consistent(self) -> Meter:
        if self.quantity == "energy_register" and self.unit not in REGISTER_UNITS:
            raise ValueError(
                f"unit {self.unit!r} is not an energy unit; use one of {', '.join(sorted(REGISTER_UNITS))}"
            )
        if self.quantity == "power" and self.unit not in POWER_UNITS:
            raise ValueError(f"unit {self.unit!r} is not a power unit; use one of {', '.join(sorted(POWER_UNITS))}")
        if self.register_max is not None and self.quantity != "energy_register":
            raise ValueError("register_max only applies to quantity energy_register")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self

    @property
    def category(self) -> int | None:
        """PUE category if this meter measures IT energy, else None."""
        return ROLE_CATEGORY.get(self.role)

    @property
    def unit_factor(self) -> float:
        """Multiply a reading in :attr:`unit` by this to get kWh (registers) or W (power)."""
        return REGISTER_UNITS[self.unit] if self.quantity == "energy_register" else POWER_UNITS[self.unit]

    @property
    def wrap_kwh(self) -> float | None:
        """The register's modulus in kWh: where it rolls over to zero.

        A display maximum made of nines (``999999.9``, ``99999999``) means the register wraps at the next
        power of ten (1,000,000 and 100,000,000); any other value is taken as the wrap point itself.
        """
        if self.register_max is None:
            return None
        return wrap_modulus(self.register_max) * REGISTER_UNITS[self.unit]

    @property
    def max_power_w(self) -> float | None:
        """Power above which a register delta is rejected as a glitch: rating × 1.1."""
        return None if self.rating_kw is None else self.rating_kw * 1000.0 * RATING_MARGIN

    def active_at(self, ts: dt.datetime) -> bool:
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        if self.valid_from is not None and ts < self.valid_from:
            return False
        return self.valid_to is None or ts < self.valid_to


def wrap_modulus(register_max: float) -> float:
    """``999999.9`` → ``1000000.0``; ``1048576`` → ``1048576``."""
    text = f"{register_max:.6f}".rstrip("0").rstrip(".")
    if set(text.replace(".", "")) == {"9"}:
        return float(10 ** math.ceil(math.log10(register_max)))
    return register_max


class MeterRegistry(BaseModel):
    """All declared meters; look-ups by id, optionally at a point in time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    meters: tuple[Meter, ...] = ()

    @model_validator(mode="after")
    def _no_overlapping_ids(self) -> MeterRegistry:
        by_id: dict[str, list[Meter]] = {}
        for m in self.meters:
            for other in by_id.get(m.id, []):
                if _overlap(m, other):
                    raise ValueError(
                        f"meter {m.id!r} is declared twice for overlapping periods; "
                        "give the entries valid_from/valid_to that do not overlap"
                    )
            by_id.setdefault(m.id, []).append(m)
        return self

    @functools.cached_property
    def _index(self) -> dict[str, list[Meter]]:
        index: dict[str, list[Meter]] = {}
        for m in self.meters:
            index.setdefault(m.id, []).append(m)
        return index

    def by_id(self, meter_id: str, at: dt.datetime | None = None) -> Meter | None:
        """The entry for ``meter_id`` valid at ``at``; without ``at``, its most recent entry."""
        entries = self._index.get(meter_id, [])
        if len(entries) == 1 and (at is None or entries[0].active_at(at)):
            return entries[0]
        if at is not None:
            return next((m for m in entries if m.active_at(at)), None)
        if not entries:
            return None
        return max(entries, key=lambda m: m.valid_from or dt.datetime.min.replace(tzinfo=dt.UTC))

    def for_site(self, site: str) -> list[Meter]:
        return [m for m in self.meters if m.site == site]

    @property
    def sites(self) -> list[str]:
        return sorted({m.site for m in self.meters})

    def frame(self) -> pl.DataFrame:
        """The registry as a frame for joins: one row per entry, factors resolved to kWh and W."""
        return pl.DataFrame(
            [
                {
                    "meter_id": m.id,
                    "site": m.site,
                    "role": m.role,
                    "category": m.category,
                    "quantity": m.quantity,
                    "unit": m.unit,
                    "zone": m.zone,
                    "wrap_kwh": m.wrap_kwh,
                    "max_power_w": m.max_power_w,
                    "interval_s": m.interval_s,
                    "valid_from": m.valid_from,
                    "valid_to": m.valid_to,
                }
                for m in self.meters
            ],
            schema=REGISTRY_FRAME_SCHEMA,
        )


_REGISTRY_COLUMNS: dict[str, pl.DataType] = {
    "meter_id": pl.String(),
    "site": pl.String(),
    "role": pl.String(),
    "category": pl.Int32(),
    "quantity": pl.String(),
    "unit": pl.String(),
    "zone": pl.String(),
    "wrap_kwh": pl.Float64(),
    "max_power_w": pl.Float64(),
    "interval_s": pl.Float64(),
    "valid_from": pl.Datetime("us", "UTC"),
    "valid_to": pl.Datetime("us", "UTC"),
}
REGISTRY_FRAME_SCHEMA = pl.Schema(_REGISTRY_COLUMNS)


def _overlap(a: Meter, b: Meter) -> bool:
    lo = dt.datetime.min.replace(tzinfo=dt.UTC)
    hi = dt.datetime.max.replace(tzinfo=dt.UTC)
    return (a.valid_from or lo) < (b.valid_to or hi) and (b.valid_from or lo) < (a.valid_to or hi)


def registry_from_meters(meters: Iterable[Meter]) -> MeterRegistry:
    return MeterRegistry(version=1, meters=tuple(meters))


def load_meters(path: Path) -> MeterRegistry:
    """Read and validate ``meters.yaml``; any mistake is a :class:`ConfigError` naming the meter, field and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("meter registry not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the meter registry: {exc}", file=path) from exc
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=path, line=line) from exc
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'version' and 'meters'", file=path)
    try:
        return MeterRegistry.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, data, root, path) from None


def _config_error(exc: ValidationError, data: dict[str, Any], root: yaml.Node | None, path: Path) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not loc and isinstance(data.get("meters"), list):
        # Registry-wide checks name the meter: point at its last entry.
        for index, entry in reversed(list(enumerate(data["meters"]))):
            if isinstance(entry, dict) and entry.get("id") and message.startswith(f"meter {entry['id']!r} "):
                loc = ("meters", index, "id")
                break
    if len(loc) == 2 and loc[0] == "meters":
        # Whole-entry checks start their message with the field they are about: point at that field.
        named = next((f for f in Meter.model_fields if message.startswith(f"{f} ")), None)
        if named is not None:
            loc = (*loc, named)
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "literal_error" and loc and loc[-1] == "role":
        message = f"{message} (got {first.get('input')!r})"
    field = ".".join(str(p) for p in loc[2:]) or (str(loc[0]) if loc and loc[0] != "meters" else None)
    who = ""
    if len(loc) >= 2 and loc[0] == "meters" and isinstance(loc[1], int) and not message.startswith("meter "):
        meters = data.get("meters")
        entry = meters[loc[1]] if isinstance(meters, list) and loc[1] < len(meters) else None
        meter_id = entry.get("id") if isinstance(entry, dict) else None
        who = f"meter {meter_id!r}" if meter_id else f"meter #{loc[1] + 1}"
    more = len(errors) - 1
    reason = f"{who}: {message}" if who else message
    if more:
        reason += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(reason, file=path, line=_line_of(root, loc), field=field)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line

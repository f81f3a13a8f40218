"""Read a panel's field styles back from dashboard JSON and format values the way Grafana's units do.

The preview draws from the generated JSON (not from the catalogue), so what it shows is what the JSON
says: the defaults, then the ``byName`` overrides of a field; the unit, decimals, range, thresholds and
value mappings a person would see in Grafana. Only the units aigrid uses are formatted specially;
anything else prints the number with the unit's name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Grafana's named colours as the preview draws them.
COLORS = {
    "green": "#56A64B",
    "orange": "#FF9830",
    "red": "#E02F44",
    "blue": "#3274D9",
    "text": "#8E8E8E",
    "dark-orange": "#FA6400",
}
#: Grafana's classic series palette.
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642", "#CCA300")


def color(name: str | None) -> str:
    if not name:
        return COLORS["text"]
    return COLORS.get(name, name)


@dataclass(frozen=True)
class FieldStyle:
    unit: str = "none"
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    steps: tuple[tuple[float | None, str], ...] = ()
    mappings: Mapping[str, str] = field(default_factory=dict)
    right_axis: bool = False
    bars: bool = False
    dashed: bool = False
    fixed_color: str | None = None
    display_name: str | None = None

    def threshold_color(self, value: float | None) -> str:
        chosen = COLORS["text"]
        for step_value, step_color in self.steps:
            if step_value is None or (value is not None and value >= step_value):
                chosen = color(step_color)
        return chosen


def _apply(style: FieldStyle, prop: str, value: Any) -> FieldStyle:
    if prop in ("unit", "decimals", "min", "max"):
        return replace(style, **{prop: value})
    if prop == "thresholds":
        return replace(style, steps=tuple((s.get("value"), str(s.get("color"))) for s in value.get("steps", [])))
    if prop == "mappings":
        texts = {k: str(v.get("text")) for m in value for k, v in m.get("options", {}).items()}
        return replace(style, mappings=texts)
    if prop == "custom.axisPlacement":
        return replace(style, right_axis=value == "right")
    if prop == "custom.drawStyle":
        return replace(style, bars=value == "bars")
    if prop == "custom.lineStyle":
        return replace(style, dashed=value.get("fill") == "dash")
    if prop == "color" and value.get("mode") == "fixed":
        return replace(style, fixed_color=color(value.get("fixedColor")))
    if prop == "displayName":
        return replace(style, display_name=str(value))
    return style


def defaults(panel: Mapping[str, Any]) -> FieldStyle:
    d = panel.get("fieldConfig", {}).get("defaults", {})
    style = FieldStyle()
    for prop in ("unit", "decimals", "min", "max", "thresholds", "mappings", "displayName"):
        if prop in d:
            style = _apply(style, prop, d[prop])
    if d.get("custom", {}).get("drawStyle") == "bars":
        style = replace(style, bars=True)
    return style


def for_field(panel: Mapping[str, Any], name: str) -> FieldStyle:
    """The style of the field whose display name is ``name``: defaults, then matching overrides."""
    style = defaults(panel)
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") == "byName" and matcher.get("options") == name:
            for prop in override.get("properties", []):
                style = _apply(style, str(prop.get("id")), prop.get("value"))
    return style


def _number(value: float, decimals: int | None, default: int = 1) -> str:
    places = default if decimals is None else decimals
    return f"{value:,.{places}f}"


def _scaled(value: float, units: tuple[str, ...], step: float, decimals: int | None) -> str:
    index = 0
    while abs(value) >= step and index < len(units) - 1:
        value, index = value / step, index + 1
    return f"{_number(value, decimals)} {units[index]}"


def format_value(value: Any, style: FieldStyle) -> str:
    """A value as Grafana would print it with the field's unit, decimals and value mappings."""
    if value is None:
        return "–"
    if str(value) in style.mappings:
        return style.mappings[str(value)]
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) or style.unit == "string":
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    unit, decimals = style.unit, style.decimals
    if unit == "percentunit":
        return f"{_number(number * 100, decimals)} %"
    if unit == "percent":
        return f"{_number(number, decimals)} %"
    if unit == "celsius":
        return f"{_number(number, decimals)} °C"
    if unit in ("watt", "kwatt"):
        return _scaled(number * (1000 if unit == "kwatt" else 1), ("W", "kW", "MW", "GW"), 1000, decimals)
    if unit == "kwatth":
        return _scaled(number, ("kWh", "MWh", "GWh"), 1000, decimals)
    if unit in ("decbits", "Kbits"):
        base = number * (1000 if unit == "Kbits" else 1)
        scaled = _scaled(base, ("b", "kb", "Mb", "Gb", "Tb", "Pb"), 1000, decimals)
        return scaled + ("/s" if unit == "Kbits" else "")
    if unit == "s":
        return str(dt.timedelta(seconds=round(number)))
    if unit == "currencyJPY":
        return f"¥{_number(number, decimals, 0)}"
    if unit.startswith("si:"):
        return _si(number, unit.removeprefix("si:"), decimals)
    if unit.startswith("suffix:"):
        return f"{_number(number, decimals)}{unit.removeprefix('suffix:')}"
    if unit in ("none", "short"):
        return _number(number, decimals, 0 if number.is_integer() else 2)
    return f"{_number(number, decimals)} {unit}"


def _si(value: float, suffix: str, decimals: int | None) -> str:
    """Grafana's ``si:`` custom unit: an SI prefix chosen by magnitude (k, M, G, … and m, µ below one)."""
    prefixes = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"))
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{_number(value / scale, decimals)} {prefix}{suffix}"
    return f"{_number(value, decimals)} {suffix}"

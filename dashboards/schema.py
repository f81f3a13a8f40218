"""Validate dashboard JSON against the foundation SDK's JSON Schemas (vendored in ``dashboards/jsonschema``).

Two passes, because the dashboard schema leaves panel internals open: the whole dashboard against
``dashboard.jsonschema.json``, then each panel's ``options`` against ``<type>.jsonschema.json#Options``
and its ``fieldConfig.defaults.custom`` (and overrides' ``custom.*`` properties) against
``#FieldConfig``. Messages name the dashboard path, so a typo points at its panel.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_DIR = Path(__file__).parent / "jsonschema"


#: Properties that Grafana's CUE types as ``_`` (any value) but the generated schema narrowed to an
#: object, so the SDK's own ``override_by_name`` output (``matcher.options: "<name>"``, ``value: "kwatt"``)
#: fails it. Only these are widened back to "any JSON value"; everything else stays as vendored.
SCHEMA_CORRECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "dashboard": (("MatcherConfig", "options"), ("DynamicConfigValue", "value")),
}


def _schema_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.jsonschema.json").read_text(encoding="utf-8"))
    return data


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    data = _schema_file(name)
    for definition, prop in SCHEMA_CORRECTIONS.get(name, ()):
        data["definitions"][definition]["properties"][prop] = {}
    return data


@functools.cache
def _validator(name: str, definition: str | None = None) -> Draft7Validator | None:
    schema = _schema(name)
    if definition is not None:
        if definition not in schema.get("definitions", {}):
            return None
        schema = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    return Draft7Validator(schema)


def _messages(validator: Draft7Validator, instance: object, where: str) -> list[str]:
    """One line per error: where it is and, for ``oneOf``/``anyOf``, the most relevant sub-error."""
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        detail: ValidationError = best_match(error.context) if error.context else error
        parts = [where, *(str(p) for p in error.absolute_path)]
        if detail is not error:
            parts += [str(p) for p in detail.relative_path]
        out.append(f"{'/'.join(p for p in parts if p) or '/'}: {detail.message}")
    return out


def _panels(dashboard: Mapping[str, Any]) -> Iterable[tuple[int, Mapping[str, Any]]]:
    for index, panel in enumerate(dashboard.get("panels", [])):
        if panel.get("type") == "row":
            continue
        yield index, panel


def validate(dashboard: Mapping[str, Any]) -> list[str]:
    """Schema errors of one dashboard (empty when valid)."""
    main = _validator("dashboard")
    assert main is not None
    errors = _messages(main, dashboard, "")
    for index, panel in _panels(dashboard):
        kind = str(panel.get("type"))
        where = f"panels/{index} ({panel.get('title')!r}, {kind})"
        if not (SCHEMA_DIR / f"{kind}.jsonschema.json").exists():
            errors.append(f"{where}: no schema for panel type {kind!r}")
            continue
        options = _validator(kind, "Options")
        if options is not None:
            errors += _messages(options, panel.get("options", {}), f"{where}/options")
        custom = _validator(kind, "FieldConfig")
        field_config = panel.get("fieldConfig", {})
        if custom is not None:
            errors += _messages(custom, field_config.get("defaults", {}).get("custom", {}), f"{where}/custom")
            for o_index, override in enumerate(field_config.get("overrides", [])):
                for prop in override.get("properties", []):
                    name = str(prop.get("id", ""))
                    if name.startswith("custom."):
                        key = name.removeprefix("custom.")
                        errors += _messages(custom, {key: prop.get("value")}, f"{where}/overrides/{o_index}")
    return errors


@functools.cache
def known_units() -> frozenset[str]:
    """Every unit id in the SDK's units schema."""
    definitions = _schema("units").get("definitions", {}).values()
    return frozenset(str(d["const"]) for d in definitions if isinstance(d, dict) and "const" in d)


#: Custom unit forms Grafana accepts besides the fixed ids.
CUSTOM_UNIT_PREFIXES = ("suffix:", "prefix:", "si:", "count:", "currency:", "time:", "bool")


def is_known_unit(unit: str) -> bool:
    return unit in known_units() or unit.startswith(CUSTOM_UNIT_PREFIXES)

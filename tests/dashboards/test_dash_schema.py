"""Schema validation and aigrid's lint rules: clean on the committed dashboards, and they catch mistakes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft7Validator

from dashboards import schema
from dashboards.lint import lint
from dashboards.schema import validate
from tests.dashboards.conftest import by_uid, panel


def test_committed_dashboards_validate_and_follow_the_rules(committed: list[dict[str, Any]]) -> None:
    for d in committed:
        assert validate(d) == [], d["uid"]
        assert lint(d) == [], d["uid"]


def _fleet(committed: list[dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(by_uid(committed, "aigrid-fleet"))


def _mutate_stat(d: dict[str, Any]) -> None:
    panel(d, "GPUs now")["fieldConfig"]["defaults"]["uint"] = "none"


def _mutate_thresholds(d: dict[str, Any]) -> None:
    panel(d, "Fleet utilisation")["fieldConfig"]["defaults"]["thresholds"]["mode"] = "abs"


def _mutate_legend(d: dict[str, Any]) -> None:
    panel(d, "GPU utilisation: mean and p95")["options"]["legend"]["placement"] = "left"


def _mutate_gauge(d: dict[str, Any]) -> None:
    panel(d, "Fleet utilisation")["options"]["showThresholdMarkers"] = "yes"


def _mutate_custom(d: dict[str, Any]) -> None:
    panel(d, "GPU utilisation: mean and p95")["fieldConfig"]["defaults"]["custom"]["drawStyle"] = "area"


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (_mutate_stat, "panels/1"),
        (_mutate_thresholds, "panels/2"),
        (_mutate_legend, "panels/6 ('GPU utilisation: mean and p95', timeseries)/options/legend/placement"),
        (_mutate_gauge, "panels/2 ('Fleet utilisation', gauge)/options/showThresholdMarkers"),
        (_mutate_custom, "panels/6 ('GPU utilisation: mean and p95', timeseries)/custom/drawStyle"),
    ],
)
def test_schema_catches_injected_mistakes(
    committed: list[dict[str, Any]], mutate: Callable[[dict[str, Any]], None], where: str
) -> None:
    d = _fleet(committed)
    mutate(d)
    errors = validate(d)
    assert len(errors) == 1, errors
    assert errors[0].startswith(where), errors


def test_the_vendored_schema_rejects_the_sdks_own_overrides_hence_the_correction(
    committed: list[dict[str, Any]],
) -> None:
    raw = Draft7Validator(schema._schema_file("dashboard"))
    errors = list(raw.iter_errors(by_uid(committed, "aigrid-fleet")))
    assert errors, "the vendored schema now accepts overrides: drop SCHEMA_CORRECTIONS"
    messages = " ".join(c.message for e in errors for c in e.context)
    assert "'Allocated, idle' is not of type 'object'" in messages


def _lint_after(committed: list[dict[str, Any]], change: Callable[[dict[str, Any]], None]) -> list[str]:
    d = _fleet(committed)
    change(d)
    return lint(d)


def _sql(d: dict[str, Any], title: str = "Fleet utilisation") -> dict[str, Any]:
    target: dict[str, Any] = panel(d, title)["targets"][0]
    return target


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: _sql(d).update(format="table"), "format must be the integer 0 or 1"),
        (lambda d: _sql(d).update(format=0), "format 0 does not suit a gauge panel"),
        (
            lambda d: _sql(d).update(rawSql="SELECT $__timeGroup(hour, '1h') AS time"),
            "macro the DuckDB plugin does not expand",
        ),
        (lambda d: _sql(d).update(rawSql="SELECT 1 WHERE site = '${site}'"), "quotes a variable"),
        (lambda d: _sql(d).update(rawSql="SELECT 1 WHERE site IN ($site)"), "without a format"),
        (lambda d: _sql(d).update(rawSql="SELECT ${tenant:sqlstring}"), "$tenant, which is not a variable"),
        (lambda d: d["templating"]["list"][0].update(allValue="__all"), "allValue must be an SQL string literal"),
        (lambda d: panel(d, "Fleet utilisation").update(id=1), "id 1 is also used by 'GPUs now'"),
        (lambda d: panel(d, "Fleet utilisation").update(description=""), "needs a description"),
        (
            lambda d: panel(d, "Fleet utilisation")["fieldConfig"]["defaults"].update(unit="kwh"),
            "unit 'kwh' is not a Grafana unit",
        ),
        (
            lambda d: panel(d, "Fleet utilisation")["fieldConfig"]["defaults"]["thresholds"]["steps"].reverse(),
            "thresholds must start with a base step and ascend",
        ),
        (lambda d: panel(d, "Fleet utilisation")["gridPos"].update(x=0), "overlaps another panel"),
        (lambda d: panel(d, "Fleet utilisation").update(datasource={"uid": "x"}), "datasource must be"),
        (lambda d: d.update(uid="Fleet Dashboard"), "uid 'Fleet Dashboard'"),
    ],
)
def test_lint_catches(committed: list[dict[str, Any]], change: Callable[[dict[str, Any]], Any], expected: str) -> None:
    problems = _lint_after(committed, change)
    assert any(expected in p for p in problems), problems


def test_known_units() -> None:
    assert schema.is_known_unit("kwatth")
    assert schema.is_known_unit("suffix: GPU·h")
    assert not schema.is_known_unit("kWh")

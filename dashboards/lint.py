"""aigrid's own rules for dashboard JSON, beyond what the JSON Schemas can say.

The rules come from what breaks in Grafana with the DuckDB plugin (integer ``format``, no
``$__timeGroup``, variables as ``${var:sqlstring}``, a raw SQL-literal ``allValue``), from what makes
provisioned dashboards portable (one fixed datasource uid, no ``__inputs``) and from what makes them
readable (a description and a unit on every panel, ascending thresholds, a grid without overlaps).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dashboards.datasource import DATASOURCE_UID, PLUGIN_ID
from dashboards.schema import is_known_unit

UID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
BUILTINS = {"__interval", "__interval_ms", "__from", "__to", "__timeFilter", "__timeFrom", "__timeTo"}
TIME_SERIES_PANELS = {"timeseries", "heatmap"}
_REFERENCE = re.compile(r"\$\{(\w+)(?::([^}]+))?\}|\$(\w+)|\[\[(\w+)")
_ALLOWED_FORMATS = {"sqlstring", "raw"}
MIN_DESCRIPTION = 20


def _all_panels(dashboard: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _units(panel: Mapping[str, Any]) -> list[str]:
    field_config = panel.get("fieldConfig", {})
    units = [field_config.get("defaults", {}).get("unit")]
    for override in field_config.get("overrides", []):
        units += [p.get("value") for p in override.get("properties", []) if p.get("id") == "unit"]
    return [str(u) for u in units if u is not None] if units[0] is not None else ["<missing>"]


def _thresholds(panel: Mapping[str, Any]) -> list[list[Any]]:
    field_config = panel.get("fieldConfig", {})
    configs = [field_config.get("defaults", {}).get("thresholds")]
    for override in field_config.get("overrides", []):
        configs += [p.get("value") for p in override.get("properties", []) if p.get("id") == "thresholds"]
    return [[s.get("value") for s in c.get("steps", [])] for c in configs if c]


def _sql_problems(sql: str, defined: set[str]) -> list[str]:
    problems = []
    if re.search(r"\$__(timeGroup|unixEpoch|timeGroupAlias|time\b|table|column)", sql):
        problems.append("uses a macro the DuckDB plugin does not expand ($__timeGroup, $__unixEpoch*, …)")
    if re.search(r"'\$\{?\w+(:\w+)?\}?'", sql):
        problems.append("quotes a variable ('${var}'); sqlstring already quotes values")
    for match in _REFERENCE.finditer(sql):
        name = match.group(1) or match.group(3) or match.group(4)
        fmt = match.group(2)
        if name in BUILTINS:
            continue
        if name not in defined:
            problems.append(f"references ${name}, which is not a variable of this dashboard")
        elif match.group(1) is None:
            problems.append(f"writes ${name} without a format; write ${{{name}:sqlstring}}")
        elif fmt not in _ALLOWED_FORMATS:
            problems.append(f"formats ${name} as {fmt!r}; use sqlstring (or raw for numbers)")
    return problems


def lint(dashboard: Mapping[str, Any]) -> list[str]:
    """Rule violations of one dashboard (empty when it follows every rule)."""
    out: list[str] = []
    uid = str(dashboard.get("uid", ""))
    if not UID_RE.match(uid):
        out.append(f"uid {uid!r} must be 1-40 lower-case letters, digits and dashes")
    if "__inputs" in dashboard or "${DS_" in str(dashboard):
        out.append("__inputs / ${DS_…} only resolve on interactive import, never in provisioning")
    variables = dashboard.get("templating", {}).get("list", [])
    defined = {str(v.get("name")) for v in variables}
    for var in variables:
        name = var.get("name")
        if var.get("type") == "query":
            if var.get("datasource", {}).get("uid") != DATASOURCE_UID:
                out.append(f"variable {name!r}: datasource must be uid {DATASOURCE_UID!r}")
            if var.get("includeAll") and not re.fullmatch(r"'[^']*'", str(var.get("allValue", ""))):
                out.append(f"variable {name!r}: allValue must be an SQL string literal (Grafana inserts it raw)")
            out += [f"variable {name!r}: {p}" for p in _sql_problems(str(var.get("query", "")), defined)]
    ids: dict[int, str] = {}
    occupied: set[tuple[int, int]] = set()
    for panel in _all_panels(dashboard):
        title, kind = str(panel.get("title", "")), str(panel.get("type"))
        where = f"panel {title!r}"
        pid = panel.get("id")
        if not isinstance(pid, int) or pid <= 0:
            out.append(f"{where}: needs an explicit positive id")
        elif pid in ids:
            out.append(f"{where}: id {pid} is also used by {ids[pid]!r}")
        else:
            ids[pid] = title
        pos = panel.get("gridPos", {})
        x, y, w, h = (int(pos.get(k, 0)) for k in ("x", "y", "w", "h"))
        if x < 0 or w < 1 or x + w > 24:
            out.append(f"{where}: gridPos x={x} w={w} leaves the 24-column grid")
        cells = {(cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)}
        if cells & occupied:
            out.append(f"{where}: overlaps another panel")
        occupied |= cells
        if kind == "row":
            continue
        if len(str(panel.get("description", ""))) < MIN_DESCRIPTION:
            out.append(f"{where}: needs a description that says what it shows")
        if panel.get("datasource") != {"type": PLUGIN_ID, "uid": DATASOURCE_UID}:
            out.append(f"{where}: datasource must be {PLUGIN_ID} uid {DATASOURCE_UID!r}")
        for unit in _units(panel):
            if not is_known_unit(unit):
                out.append(f"{where}: unit {unit!r} is not a Grafana unit")
        for steps in _thresholds(panel):
            values = [v for v in steps[1:] if v is not None]
            if steps[:1] != [None] or values != sorted(values) or len(values) != len(steps) - 1:
                out.append(f"{where}: thresholds must start with a base step and ascend")
        reduce_options = panel.get("options", {}).get("reduceOptions")
        if kind in ("stat", "gauge", "bargauge") and not (reduce_options or {}).get("calcs"):
            out.append(f"{where}: set an explicit reducer (reduceOptions.calcs)")
        if kind == "timeseries" and not panel.get("options", {}).get("legend", {}).get("showLegend"):
            out.append(f"{where}: show the legend")
        targets = panel.get("targets", [])
        if not targets:
            out.append(f"{where}: has no query")
        for target in targets:
            fmt = target.get("format")
            if fmt not in (0, 1) or isinstance(fmt, bool):
                out.append(f"{where}: format must be the integer 0 or 1 (plugin ≤ 0.4.5 rejects strings)")
            elif (fmt == 0) != (kind in TIME_SERIES_PANELS):
                out.append(f"{where}: format {fmt} does not suit a {kind} panel")
            if target.get("datasource", {}).get("uid") != DATASOURCE_UID:
                out.append(f"{where}: target datasource must be uid {DATASOURCE_UID!r}")
            out += [f"{where}: {p}" for p in _sql_problems(str(target.get("rawSql", "")), defined)]
    return out

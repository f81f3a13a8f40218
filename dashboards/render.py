"""Catalogue entries → Grafana's classic dashboard JSON (schemaVersion 42) through grafana-foundation-sdk.

Output is deterministic: keys sorted, explicit panel ids and grid positions, no timestamps, so
regenerating gives the same bytes and a diff shows exactly what a catalogue change did.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.datasource import DuckDBQueryBuilder, datasource_ref
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Style
from dashboards.variables import ALL_VALUE, Variable, Vocabulary

with warnings.catch_warnings():
    # 0.0.21 warns at import that the v1 (classic) model is deprecated; classic is what provisioning takes.
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import bargauge, gauge, heatmap, stat, table, timeseries
    from grafana_foundation_sdk.builders import common as cb
    from grafana_foundation_sdk.builders import dashboard as db
    from grafana_foundation_sdk.builders import heatmap as hb
    from grafana_foundation_sdk.models import common as cm
    from grafana_foundation_sdk.models import dashboard as dm
    from grafana_foundation_sdk.models import heatmap as hm

GRID_COLUMNS = 24
#: The tag every aigrid dashboard carries; the dashboards' link bar lists all dashboards with it.
TAG = "aigrid"
GENERATED_DIR = Path(__file__).parent / "generated"

_BUILDERS: dict[Kind, Any] = {
    Kind.TIMESERIES: timeseries.Panel,
    Kind.STAT: stat.Panel,
    Kind.GAUGE: gauge.Panel,
    Kind.BARGAUGE: bargauge.Panel,
    Kind.TABLE: table.Panel,
    Kind.HEATMAP: heatmap.Panel,
}


def _thresholds(style: Style) -> db.ThresholdsConfig:
    steps = style.steps or ()
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=s.value, color=s.color) for s in steps])
    )


def _mappings(style: Style) -> list[dm.ValueMapping]:
    if not style.mappings:
        return []
    options = {m.value: dm.ValueMappingResult(text=m.text, color=m.color) for m in style.mappings}
    return [dm.ValueMap(options=options)]


def _style_properties(style: Style) -> list[dm.DynamicConfigValue]:
    """A :class:`Style` as override properties (same semantics as the panel defaults)."""
    props = [dm.DynamicConfigValue(id_val="unit", value=style.unit)]
    for name in ("decimals", "min", "max"):
        value = getattr(style, name)
        if value is not None:
            props.append(dm.DynamicConfigValue(id_val=name, value=value))
    if style.steps:
        props.append(dm.DynamicConfigValue(id_val="thresholds", value=_thresholds(style).build()))
    if style.mappings:
        props.append(dm.DynamicConfigValue(id_val="mappings", value=_mappings(style)))
    return props


def _override_properties(o: Override) -> list[dm.DynamicConfigValue]:
    props = _style_properties(o.style) if o.style else []
    if o.display_name:
        props.append(dm.DynamicConfigValue(id_val="displayName", value=o.display_name))
    if o.right_axis:
        props.append(dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"))
    if o.dashed:
        props.append(dm.DynamicConfigValue(id_val="custom.lineStyle", value={"dash": [10, 10], "fill": "dash"}))
        props.append(dm.DynamicConfigValue(id_val="custom.fillOpacity", value=0))
    if o.bars:
        props.append(dm.DynamicConfigValue(id_val="custom.drawStyle", value="bars"))
        props.append(dm.DynamicConfigValue(id_val="custom.fillOpacity", value=60))
    if o.color:
        props.append(dm.DynamicConfigValue(id_val="color", value={"fixedColor": o.color, "mode": "fixed"}))
    if o.hidden:
        props.append(
            dm.DynamicConfigValue(id_val="custom.hideFrom", value={"legend": True, "tooltip": True, "viz": True})
        )
    return props


def _link_url(link: Link) -> str:
    query = "${__url_time_range}" + ("" if link.data else "&${__all_variables}")
    return f"/d/{link.dashboard_uid}/?{query}" + (f"&{link.params}" if link.params else "")


def _links(links: tuple[Link, ...]) -> list[db.DashboardLink]:
    return [db.DashboardLink(link.title).type(dm.DashboardLinkType.LINK).url(_link_url(link)) for link in links]


def _reduce(per_row: bool) -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(per_row)


def _configure(b: Any, p: Panel) -> None:
    """Kind-specific options: legends, stacking, reducers, table sort, heatmap colours."""
    if p.kind is Kind.TIMESERIES:
        legend = cb.VizLegendOptions().show_legend(True).placement(cm.LegendPlacement.BOTTOM)
        if p.legend_calcs:
            legend = legend.display_mode(cm.LegendDisplayMode.TABLE).calcs(list(p.legend_calcs))
        else:
            legend = legend.display_mode(cm.LegendDisplayMode.LIST).calcs([])
        b.legend(legend).tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
        b.draw_style(cm.GraphDrawStyle.BARS if p.bars else cm.GraphDrawStyle.LINE)
        b.fill_opacity(60 if p.bars or p.stacking != "none" else 10).line_width(1).show_points(cm.VisibilityMode.AUTO)
        b.stacking(cb.StackingConfig().mode(cm.StackingMode(p.stacking)))
        if p.threshold_lines:
            b.thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
    elif p.kind is Kind.STAT:
        b.reduce_options(_reduce(p.per_row)).graph_mode(cm.BigValueGraphMode.NONE)
        b.color_mode(cm.BigValueColorMode.VALUE).text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
        b.justify_mode(cm.BigValueJustifyMode.AUTO).orientation(cm.VizOrientation.AUTO)
    elif p.kind is Kind.GAUGE:
        b.reduce_options(_reduce(p.per_row)).show_threshold_markers(True).show_threshold_labels(False)
    elif p.kind is Kind.BARGAUGE:
        b.reduce_options(_reduce(p.per_row)).display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        b.orientation(cm.VizOrientation.HORIZONTAL).show_unfilled(True)
        b.value_mode(cm.BarGaugeValueMode.COLOR).name_placement(cm.BarGaugeNamePlacement.AUTO)
    elif p.kind is Kind.TABLE:
        b.show_header(True).cell_height(cm.TableCellHeight.SM)
        if p.sort_by:
            b.sort_by([cb.TableSortByFieldState().display_name(p.sort_by).desc(True)])
    elif p.kind is Kind.HEATMAP:
        color = hb.HeatmapColorOptions().mode(hm.HeatmapColorMode.SCHEME).scheme("RdYlGn").steps(64)
        color = color.scale(hm.HeatmapColorScale.LINEAR).exponent(0.5).fill("dark-orange").reverse(False)
        if p.style.min is not None:
            color = color.min(p.style.min)
        if p.style.max is not None:
            color = color.max(p.style.max)
        # Grafana's default hides cells <= 1e-9 (empty histogram buckets); a 0 % node must stay visible (red).
        b.calculate(False).color(color).cell_gap(1).show_legend().filter_values(hb.FilterValueRange().le(-1e-9))
        b.y_axis(hb.YAxisConfig().axis_placement(cm.AxisPlacement.LEFT).reverse(False))
        b.rows_frame(hb.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.UNKNOWN))
        b.cell_values(hb.CellValues().unit(p.style.unit))
        b.tooltip(hb.HeatmapTooltip().mode(cm.TooltipDisplayMode.SINGLE).y_histogram(False).show_color_scale(True))


def _check_overrides(p: Panel) -> None:
    """Value mappings of the defaults apply to every field an override does not re-map: refuse that trap."""
    if p.style.mappings:
        for o in p.overrides:
            if o.style is not None and not o.style.mappings:
                raise ValueError(
                    f"panel {p.title!r}: its default value mappings would also apply to {o.field!r}; "
                    "put the mappings in an override instead"
                )


def _panel(p: Panel, x: int, y: int) -> Any:
    _check_overrides(p)
    b = _BUILDERS[p.kind]()
    b.id(p.id).title(p.title).description(p.description).datasource(datasource_ref())
    b.with_target(DuckDBQueryBuilder("A", p.sql.strip(), p.query_format))
    b.grid_pos(dm.GridPos(h=p.h, w=p.w, x=x, y=y))
    b.unit(p.style.unit)
    if p.style.decimals is not None:
        b.decimals(p.style.decimals)
    if p.style.min is not None:
        b.min(p.style.min)
    if p.style.max is not None:
        b.max(p.style.max)
    if p.style.steps:
        b.thresholds(_thresholds(p.style))
    if p.style.mappings:
        b.mappings(_mappings(p.style))
    if p.series_name:
        b.display_name(p.series_name)
    if p.min_interval:
        b.interval(p.min_interval)
    if p.time_from:
        b.time_from(p.time_from)
    if p.no_value:
        b.no_value(p.no_value)
    panel_links = [link for link in p.links if not link.data]
    data_links = [link for link in p.links if link.data]
    if panel_links:
        b.links(_links(tuple(panel_links)))
    if data_links:
        b.data_links(_links(tuple(data_links)))
    for o in p.overrides:
        b.override_by_name(o.field, _override_properties(o))
    _configure(b, p)
    return b


def _variable(v: Variable) -> Any:
    var = (
        db.QueryVariable(v.name)
        .label(v.label)
        .description(v.description)
        .datasource(datasource_ref())
        .query(v.query)
        .definition(v.query)
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.DISABLED)
        .multi(v.multi)
        .include_all(v.include_all)
        .allow_custom_value(False)
        .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .options([])
    )
    if v.include_all:
        var.all_value(ALL_VALUE)
    return var


def layout(spec: Dashboard) -> list[tuple[int, list[tuple[int, int]]]]:
    """Grid positions: per row its y and each panel's (x, y), flowing left to right on 24 columns."""
    out: list[tuple[int, list[tuple[int, int]]]] = []
    y = 0
    for row in spec.rows:
        row_y = y
        y += 1
        x, line_h, positions = 0, 0, []
        for p in row.panels:
            if not 1 <= p.w <= GRID_COLUMNS:
                raise ValueError(f"{spec.uid}: panel {p.title!r} is {p.w} columns wide; the grid has 24")
            if x + p.w > GRID_COLUMNS:
                x, y, line_h = 0, y + line_h, 0
            positions.append((x, y))
            x += p.w
            line_h = max(line_h, p.h)
        y += line_h
        out.append((row_y, positions))
    return out


def render_dashboard(spec: Dashboard, vocabulary: Vocabulary) -> dict[str, Any]:
    """The classic JSON model of one dashboard, as a plain dict."""
    b = (
        db.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags([TAG, *spec.tags])
        .editable()
        .timezone("utc")
        .time(spec.time_from, "now")
        .refresh(spec.refresh)
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .link(
            db.DashboardLink("AI grid")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(True)
        )
    )
    for v in vocabulary.variables(spec.variables):
        b.with_variable(_variable(v))
    for row, (row_y, positions) in zip(spec.rows, layout(spec), strict=True):
        b.with_row(db.Row(row.title).id(row.id).grid_pos(dm.GridPos(h=1, w=GRID_COLUMNS, x=0, y=row_y)))
        for p, (x, y) in zip(row.panels, positions, strict=True):
            b.with_panel(_panel(p, x, y))
    model = b.build()
    data: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(model))
    _tidy(data)
    return data


def _tidy(data: dict[str, Any]) -> None:
    """Drop what the SDK adds that is wrong or noise for aigrid.

    The SDK puts every link in the controls menu (``placement: inControlsMenu``), which hides the link
    bar between dashboards; Grafana's default (no placement) shows it above the panels. ``auto*`` keys
    belong to interval variables only.
    """
    panels = [*data.get("panels", []), *(p for row in data.get("panels", []) for p in row.get("panels", []))]
    links = [*data.get("links", []), *(link for p in panels for link in p.get("links", []))]
    links += [link for p in panels for link in p.get("fieldConfig", {}).get("defaults", {}).get("links", [])]
    for link in links:
        link.pop("placement", None)
    for var in data.get("templating", {}).get("list", []):
        if var.get("type") != "interval":
            for key in ("auto", "auto_count", "auto_min"):
                var.pop(key, None)


def to_bytes(data: dict[str, Any]) -> bytes:
    """The file form: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def relative_path(spec: Dashboard) -> Path:
    """Where a dashboard's JSON lives under the output folder: ``<folder uid>/<dashboard uid>.json``."""
    return Path(spec.folder.uid) / f"{spec.uid}.json"


def render_all(specs: list[Dashboard], vocabulary: Vocabulary) -> dict[Path, bytes]:
    """Every dashboard's file content by relative path; uids must be unique and folders consistent."""
    out: dict[Path, bytes] = {}
    folders: dict[str, str] = {}
    for spec in specs:
        if folders.setdefault(spec.folder.uid, spec.folder.title) != spec.folder.title:
            raise ValueError(f"folder {spec.folder.uid!r} has two titles")
        path = relative_path(spec)
        if path in out:
            raise ValueError(f"two dashboards with uid {spec.uid!r}")
        out[path] = to_bytes(render_dashboard(spec, vocabulary))
    return out

"""Draw one panel's query result on a matplotlib axes, the way its Grafana panel type would show it.

Time series become lines (bars, stacked areas or bars, a right axis, dashed threshold lines where the JSON
says so) over the panel's time range, heatmaps a coloured grid, stats and gauges their value coloured by
threshold, bar gauges horizontal bars, and tables their first rows with Grafana's units and threshold
colours (sorted like Grafana when the panel sorts by a column).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import dates as _mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from dashboards.fieldstyle import PALETTE, FieldStyle, defaults, for_field, format_value
from dashboards.interpolation import parse_duration_ms
from dashboards.verify import QueryResult

#: matplotlib.dates is untyped; dates become day numbers (floats) before they reach the axes.
mdates: Any = _mdates
MAX_BARS = 15
MAX_LABEL = 34
MAX_CELL = 40
#: Inches per table row at the preview's 6.5 pt table font.
TABLE_ROW_IN = 0.19


def _kinds(types: Sequence[str]) -> list[str]:
    out = []
    for t in types:
        base = t.split("(")[0]
        if base in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE"):
            out.append("time")
        elif base in ("VARCHAR", "BOOLEAN"):
            out.append("label")
        else:
            out.append("number")
    return out


def _series_name(panel: Mapping[str, Any], column: str, labels: dict[str, str]) -> str:
    template = defaults(panel).display_name
    if template:

        def sub(m: re.Match[str]) -> str:
            return column if m.group(1) == "name" else labels.get(m.group(1).removeprefix("labels."), "")

        return re.sub(r"\$\{__field\.(name|labels\.\w+)\}", sub, template).strip()
    return " ".join([column, *labels.values()]) if labels else column


def _axis_formatter(ax: Axes, style: FieldStyle, axis: str = "y") -> None:
    formatter = FuncFormatter(lambda v, _pos: format_value(v, style))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _time_axis(ax: Axes, result: QueryResult | None = None) -> None:
    """Date ticks; the x-axis spans the panel's time range, as Grafana's does (a single day is not zoomed in)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=False)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    if result is not None and result.time_range is not None:
        span = (result.time_range.start, result.time_range.end)
        start, end = (float(mdates.date2num(t.astimezone(dt.UTC).replace(tzinfo=None))) for t in span)
        ax.set_xlim(start, end)


def _series(panel: Mapping[str, Any], result: QueryResult) -> dict[str, dict[dt.datetime, float | None]]:
    """Long or wide frames → one series per (numeric column, label set), like the plugin's long-to-wide."""
    kinds = _kinds(result.types)
    label_cols = [i for i, k in enumerate(kinds) if k == "label"]
    value_cols = [i for i, k in enumerate(kinds) if k == "number"]
    series: dict[str, dict[dt.datetime, float | None]] = {}
    for row in result.rows:
        labels = {result.columns[i]: str(row[i]) for i in label_cols}
        moment = row[0] if isinstance(row[0], dt.datetime) else dt.datetime.combine(row[0], dt.time())
        for i in value_cols:
            name = _series_name(panel, result.columns[i], labels)
            series.setdefault(name, {})[moment] = None if row[i] is None else float(row[i])
    return series


def draw_timeseries(ax: Axes, panel: Mapping[str, Any], result: QueryResult) -> None:
    series = _series(panel, result)
    custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
    stacking = custom.get("stacking", {}).get("mode", "none")
    base = defaults(panel)
    right: Axes | None = None
    if stacking in ("normal", "percent") and series:
        times = sorted({t for s in series.values() for t in s})
        matrix = np.array([[s.get(t) or 0.0 for t in times] for s in series.values()])
        if stacking == "percent":
            totals = matrix.sum(axis=0)
            matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        colors = [for_field(panel, n).fixed_color or PALETTE[i % len(PALETTE)] for i, n in enumerate(series)]
        if base.bars:
            bottom = np.zeros(len(times))
            width = _bar_width(times, result)
            for row, name, colour in zip(matrix, series, colors, strict=True):
                ax.bar(_days(times), row, width=width, bottom=bottom, color=colour, label=name, alpha=0.85)
                bottom = bottom + row
        else:
            ax.stackplot(_days(times), matrix, labels=list(series), colors=colors, alpha=0.75)
    else:
        for i, (name, points) in enumerate(series.items()):
            style = for_field(panel, name)
            target = ax
            if style.right_axis:
                right = right or ax.twinx()
                target = right
                _axis_formatter(right, style)
                right.tick_params(labelsize=6, pad=1)
            times = sorted(points)
            values = np.array([np.nan if points[t] is None else points[t] for t in times], dtype=float)
            colour = style.fixed_color or PALETTE[i % len(PALETTE)]
            if style.bars or base.bars:
                # Grouped bars centred on their time, as Grafana draws several bar series.
                width = _bar_width(times, result) / max(1, len(series))
                offset = width * (i - (len(series) - 1) / 2)
                target.bar(_days(times) + offset, values, width=width, color=colour, label=name, alpha=0.8)
            else:
                line = "--" if style.dashed else "-"
                # Grafana's "auto" points: a series of one or two points would not show as a line.
                marker = "o" if len(times) < 3 else None
                target.plot(
                    _days(times), values, color=colour, label=name, linewidth=1.4, linestyle=line, marker=marker
                )
    if custom.get("thresholdsStyle", {}).get("mode") == "dashed":
        for value, _colour in base.steps:
            if value is not None:
                ax.axhline(value, color=base.threshold_color(value), linestyle="--", linewidth=1)
    _axis_formatter(ax, base if stacking != "percent" else FieldStyle(unit="percentunit", decimals=0))
    if base.min is not None and stacking == "none":
        highest = max((v for s in series.values() for v in s.values() if v is not None), default=base.min)
        if highest <= base.min and base.max is None:
            # A flat line at the minimum (no Xid errors) gets an axis above it, not one squeezed around it.
            ax.set_ylim(bottom=base.min, top=base.min + (1 if base.unit == "none" else 0.1))
        else:
            ax.set_ylim(bottom=base.min)
    if base.decimals == 0 and base.unit == "none":
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _time_axis(ax, result)
    handles, labels = ax.get_legend_handles_labels()
    if right is not None:
        more = right.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="upper left", ncol=min(4, len(labels)), framealpha=0.6)


def _days(times: Sequence[dt.datetime]) -> Any:
    """Datetimes as matplotlib day numbers (a float array)."""
    return np.asarray(mdates.date2num(list(times)), dtype=float)


def _step_s(times: list[dt.datetime], result: QueryResult) -> float:
    """Seconds between points: the smallest gap, or the query's ``$__interval`` when there is one point."""
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times) if b > a]
    if gaps:
        return min(gaps)
    return parse_duration_ms(result.interval) / 1000 if result.interval else 3600.0


def _bar_width(times: list[dt.datetime], result: QueryResult) -> float:
    """Bar width in days: 80 % of the step between points, at least a sixtieth of the time range (a lone
    monthly bar stays visible on a year's axis)."""
    seconds = _step_s(times, result)
    if result.time_range is not None:
        seconds = max(seconds, (result.time_range.end - result.time_range.start).total_seconds() / 60)
    return 0.8 * seconds / 86400


def draw_heatmap(ax: Axes, panel: Mapping[str, Any], result: QueryResult) -> None:
    series = _series(panel, result)
    times = sorted({t for s in series.values() for t in s})
    names = sorted(series)
    grid = np.array([[np.nan if series[n].get(t) is None else series[n][t] for t in times] for n in names])
    step = _step_s(times, result)
    style = defaults(panel)
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        aspect="auto",
        cmap="RdYlGn",
        vmin=style.min,
        vmax=style.max,
        interpolation="nearest",
        extent=(mdates.date2num(times[0]), mdates.date2num(times[-1] + dt.timedelta(seconds=step)), len(names), 0),
    )
    ax.set_yticks([i + 0.5 for i in range(len(names))], names, fontsize=7)
    _time_axis(ax, result)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_value(v, style)))
    bar.ax.tick_params(labelsize=7)


def _values(panel: Mapping[str, Any], result: QueryResult) -> list[tuple[str, Any, FieldStyle]]:
    """(name, value, style) per shown value: each numeric field of one row, or one per row."""
    kinds = _kinds(result.types)
    per_row = panel.get("options", {}).get("reduceOptions", {}).get("values")
    if per_row:
        label = kinds.index("label") if "label" in kinds else None
        value = kinds.index("number")
        name = result.columns[value]
        return [
            (str(row[label]) if label is not None else str(i), row[value], for_field(panel, name))
            for i, row in enumerate(result.rows)
        ]
    row = result.rows[-1]
    return [(c, row[i], for_field(panel, c)) for i, c in enumerate(result.columns) if kinds[i] != "label"]


def _width_in(ax: Axes) -> float:
    """Width of the axes in inches (to size text so that neighbouring values do not overlap)."""
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    return float(ax.get_position().width * fig.get_figwidth())


def draw_stat(ax: Axes, panel: Mapping[str, Any], result: QueryResult) -> None:
    values = _values(panel, result)
    ax.set_axis_off()
    texts = [format_value(value, style) for _name, value, style in values]
    # About 0.6 em per character: the widest value must fit its share of the panel.
    per_value_in = _width_in(ax) / max(1, len(values))
    size = min(16.0, 72 * per_value_in / (0.62 * max(len(t) for t in texts) + 1))
    for i, ((name, value, style), text) in enumerate(zip(values, texts, strict=True)):
        x = (i + 0.5) / len(values)
        number = value if isinstance(value, int | float) else None
        colour = style.threshold_color(number)
        ax.text(
            x, 0.55, text, ha="center", va="center", fontsize=size, weight="bold", color=colour, transform=ax.transAxes
        )
        ax.text(
            x, 0.18, name, ha="center", va="center", fontsize=min(8.0, size), color="#555555", transform=ax.transAxes
        )


def draw_gauge(ax: Axes, panel: Mapping[str, Any], result: QueryResult) -> None:
    name, value, style = _values(panel, result)[0]
    low = style.min if style.min is not None else 0.0
    high = style.max if style.max is not None else max(1.0, float(value or 0) * 1.2)
    ax.set_axis_off()
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-0.25, 1.1)
    ax.set_aspect("equal")

    def angle(v: float) -> float:
        return 180.0 - 180.0 * (min(max(v, low), high) - low) / (high - low or 1.0)

    bounds = [low, *[v for v, _c in style.steps if v is not None and low < v < high], high]
    for start, end in itertools.pairwise(bounds):
        ax.add_patch(Wedge((0, 0), 1.0, angle(end), angle(start), width=0.08, color=style.threshold_color(start)))
    if value is not None:
        ax.add_patch(
            Wedge((0, 0), 0.88, angle(float(value)), 180.0, width=0.25, color=style.threshold_color(float(value)))
        )
    ax.text(0, 0.15, format_value(value, style), ha="center", fontsize=14, weight="bold")
    ax.text(0, -0.15, name, ha="center", fontsize=8, color="#555555")


def draw_bars(ax: Axes, panel: Mapping[str, Any], result: QueryResult) -> None:
    """Bar gauges: one bar per row (or per field), coloured by threshold."""
    values = _values(panel, result)[:MAX_BARS][::-1]
    names = [n if len(n) <= MAX_LABEL else n[: MAX_LABEL - 1] + "…" for n, _v, _s in values]
    numbers = [float(v) if isinstance(v, int | float) else 0.0 for _n, v, _s in values]
    colours = [s.threshold_color(n) for (_n, _v, s), n in zip(values, numbers, strict=True)]
    ax.barh(range(len(values)), numbers, color=colours, alpha=0.85)
    ax.set_yticks(range(len(values)), names, fontsize=7)
    for i, (_n, v, s) in enumerate(values):
        ax.text(numbers[i], i, " " + format_value(v, s), va="center", fontsize=7)
    if values:
        _axis_formatter(ax, values[0][2], axis="x")
        ax.set_xlim(0, max(max(numbers), 1e-9) * 1.25)


def sorted_rows(panel: Mapping[str, Any], result: QueryResult) -> list[tuple[Any, ...]]:
    """Rows in the order Grafana shows them: by the panel's sort column (descending), else as queried."""
    sort = next((s for s in panel.get("options", {}).get("sortBy", [])), None)
    if not sort or sort.get("displayName") not in result.columns:
        return list(result.rows)
    at = result.columns.index(sort["displayName"])
    present = [r for r in result.rows if r[at] is not None]
    missing = [r for r in result.rows if r[at] is None]
    return sorted(present, key=lambda r: r[at], reverse=bool(sort.get("desc"))) + missing


def draw_table(ax: Axes, panel: Mapping[str, Any], result: QueryResult) -> None:
    """The first rows that fit the panel, every column formatted with its unit; numbers coloured by their
    thresholds where a field has more than one step (problem counts, utilisation, coverage)."""
    ax.set_axis_off()
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    fits = max(1, int(ax.get_position().height * fig.get_figheight() / TABLE_ROW_IN) - 1)
    rows = sorted_rows(panel, result)
    shown = rows[:fits] if len(rows) <= fits else rows[: fits - 1]
    styles = [for_field(panel, c) for c in result.columns]
    cells = [[_clip(format_value(v, st)) for v, st in zip(row, styles, strict=True)] for row in shown]
    if len(shown) < len(rows):
        cells.append([f"… {len(rows) - len(shown)} more rows", *[""] * (len(result.columns) - 1)])
    widths = np.array([max(len(c), *(len(r[i]) for r in cells), 4) for i, c in enumerate(result.columns)], float)
    height = (len(cells) + 1) / (fits + 1)
    grid = ax.table(
        cellText=cells,
        colLabels=list(result.columns),
        colWidths=list(widths / widths.sum()),
        cellLoc="left",
        colLoc="left",
        bbox=Bbox.from_bounds(0.0, 1.0 - height, 1.0, height),
    )
    grid.auto_set_font_size(False)
    grid.set_fontsize(6.5)
    for (r, c), cell in grid.get_celld().items():
        cell.set_edgecolor("#DDDDDD")
        cell.set_linewidth(0.4)
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#F4F5F5")
        elif r - 1 < len(shown):
            value, style = shown[r - 1][c], styles[c]
            if isinstance(value, int | float) and not isinstance(value, bool) and len(style.steps) > 1:
                cell.set_text_props(color=style.threshold_color(float(value)), weight="bold")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


DRAW = {
    "timeseries": draw_timeseries,
    "heatmap": draw_heatmap,
    "stat": draw_stat,
    "gauge": draw_gauge,
    "bargauge": draw_bars,
    "table": draw_table,
}

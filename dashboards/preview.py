"""``aigrid dashboards preview``: see the dashboards without Grafana.

Each generated dashboard is drawn to one PNG with its panels where Grafana's grid puts them, from the same
queries (variables on "All", the last 24 hours of data by default), and an ``index.html`` shows them all
with each panel's description and anything that stopped it from drawing (no data, a failing query).
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from collectors.atomic import write_text
from dashboards.interpolation import InterpolationError, TimeRange
from dashboards.preview_draw import DRAW
from dashboards.render import GENERATED_DIR
from dashboards.verify import Checker, QueryFailedError, Scenario, data_end, iter_panels, load_dashboards

#: Inches per grid column and per grid row (Grafana: 24 columns across, 30 px rows).
COLUMN_IN, ROW_IN = 0.78, 0.36
#: ``$__interval`` Grafana would pick for ~1,000 points, rounded to its steps.
_INTERVALS = (("1m", 60), ("5m", 300), ("10m", 600), ("30m", 1800), ("1h", 3600), ("3h", 10800), ("12h", 43200))


@dataclass
class PanelNote:
    title: str
    description: str
    note: str | None = None


@dataclass
class DashboardImage:
    uid: str
    title: str
    description: str
    image: Path
    panels: list[PanelNote] = field(default_factory=list)


@dataclass
class PreviewResult:
    index: Path
    time_range: TimeRange
    dashboards: list[DashboardImage] = field(default_factory=list)


def grafana_interval(span: dt.timedelta, points: int = 1000) -> str:
    seconds = span.total_seconds() / points
    return next((name for name, limit in _INTERVALS if seconds <= limit), "1d")


def _draw_panel(fig: Figure, gs: GridSpec, checker: Checker, panel: Mapping[str, Any], states: Any) -> str | None:
    pos = panel.get("gridPos", {})
    x, y, w, h = (int(pos.get(k, 0)) for k in ("x", "y", "w", "h"))
    ax = fig.add_subplot(gs[y : y + h, x : x + w])
    ax.set_title(str(panel.get("title")), fontsize=9, loc="left", weight="bold")
    ax.tick_params(labelsize=7)
    note: str | None = None
    try:
        result = checker.run(panel, panel["targets"][0], states)
        if not result.rows:
            note = str(panel.get("fieldConfig", {}).get("defaults", {}).get("noValue") or "No data")
        else:
            DRAW[str(panel.get("type"))](ax, panel, result)
    except (InterpolationError, QueryFailedError) as exc:
        note = f"query failed: {str(exc).splitlines()[0]}"
    if note:
        ax.set_axis_off()
        ax.text(0.5, 0.45, note, ha="center", va="center", fontsize=9, color="#999999", transform=ax.transAxes)
    return note


def render_png(
    con: duckdb.DuckDBPyConnection, dashboard: Mapping[str, Any], scenario: Scenario, path: Path
) -> list[PanelNote]:
    """Draw ``dashboard`` to ``path``; returns each panel's note (why it shows nothing, if it does)."""
    checker = Checker(con, dashboard, scenario)
    states = checker.variables()
    panels = list(dashboard.get("panels", []))
    height = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=1)
    fig = Figure(figsize=(24 * COLUMN_IN, height * ROW_IN + 0.8), dpi=80)
    gs = GridSpec(
        height,
        24,
        figure=fig,
        left=0.09,
        right=0.98,
        top=1 - 0.6 / (height * ROW_IN + 0.8),
        bottom=0.03,
        hspace=3.2,
        wspace=2.2,
    )
    fig.suptitle(
        f"{dashboard.get('title')} — {scenario.time_range.start:%Y-%m-%d %H:%M} to "
        f"{scenario.time_range.end:%Y-%m-%d %H:%M} UTC",
        fontsize=12,
        x=0.05,
        ha="left",
    )
    notes = []
    for panel in panels:
        if panel.get("type") == "row":
            ax = fig.add_subplot(gs[panel["gridPos"]["y"], :])
            ax.set_axis_off()
            ax.text(0, 0.2, str(panel.get("title")), fontsize=11, weight="bold", transform=ax.transAxes)
    for panel in iter_panels(dashboard):
        note = _draw_panel(fig, gs, checker, panel, states) if states is not None else "variables failed"
        notes.append(PanelNote(str(panel.get("title")), str(panel.get("description", "")), note))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # A range of a few hours or a single day makes matplotlib's date locator fall back to its default
        # tick spacing and say so; the picture is still right.
        warnings.filterwarnings("ignore", message="AutoDateLocator was unable to pick", category=UserWarning)
        fig.savefig(path, format="png", metadata={"Software": None})
    return notes


def _html(result: PreviewResult) -> str:
    tr = result.time_range
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>aigrid dashboards preview</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1900px}img{width:100%;border:1px solid #ddd}"
        "li{margin:.2em 0}.note{color:#b00}</style></head><body>",
        f"<h1>aigrid dashboards</h1><p>Variables on All; {tr.start:%Y-%m-%d %H:%M} to {tr.end:%Y-%m-%d %H:%M} UTC. "
        "Drawn from the same SQL Grafana runs; tables are drawn as bars of their sort column.</p>",
    ]
    for d in result.dashboards:
        parts.append(f"<h2 id='{html.escape(d.uid)}'>{html.escape(d.title)}</h2><p>{html.escape(d.description)}</p>")
        parts.append(f"<img src='{html.escape(d.image.name)}' alt='{html.escape(d.title)}'><ul>")
        for p in d.panels:
            note = f" <span class='note'>({html.escape(p.note)})</span>" if p.note else ""
            parts.append(f"<li><b>{html.escape(p.title)}</b>{note}: {html.escape(p.description)}</li>")
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def preview(
    serving: Path,
    out_dir: Path,
    source: Path = GENERATED_DIR,
    *,
    end: dt.datetime | None = None,
    span: dt.timedelta = dt.timedelta(hours=24),
    on_dashboard: Callable[[str], None] | None = None,
) -> PreviewResult:
    """Draw every dashboard under ``source`` from ``serving`` into ``out_dir`` (PNGs + index.html)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        stop = end.astimezone(dt.UTC) if end is not None else data_end(con)
        scenario = Scenario("preview", TimeRange(stop - span, stop), grafana_interval(span), "all")
        result = PreviewResult(out_dir / "index.html", scenario.time_range)
        for dashboard in load_dashboards(source):
            if on_dashboard is not None:
                on_dashboard(str(dashboard.get("title")))
            image = out_dir / f"{dashboard['uid']}.png"
            notes = render_png(con, dashboard, scenario, image)
            result.dashboards.append(
                DashboardImage(dashboard["uid"], dashboard["title"], dashboard.get("description", ""), image, notes)
            )
    finally:
        con.close()
    write_text(result.index, _html(result))
    return result

"""The catalogue's vocabulary: what a dashboard, a row, a panel and a panel's value style are.

A catalogue entry says *what* an operator sees (title, description, SQL against the serving tables, unit,
thresholds, size); :mod:`dashboards.render` turns it into Grafana's classic JSON model with the
foundation SDK. Keeping the entries free of SDK calls is what makes a new panel one entry, and lets the
verification and preview read the same SQL that Grafana will run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Panel plugin ids used by aigrid (all core Grafana panels)."""

    TIMESERIES = "timeseries"
    STAT = "stat"
    GAUGE = "gauge"
    BARGAUGE = "bargauge"
    TABLE = "table"
    HEATMAP = "heatmap"

    @property
    def query_format(self) -> int:
        """The plugin's integer ``format``: 0 time series (time index, long→wide), 1 table (rows as-is)."""
        return 0 if self in (Kind.TIMESERIES, Kind.HEATMAP) else 1


@dataclass(frozen=True)
class Step:
    """A threshold step: from ``value`` upwards the colour applies (``None`` = the base step)."""

    color: str
    value: float | None = None


@dataclass(frozen=True)
class ValueText:
    """A value mapping: an exact value shown as text (e.g. PUE category 1 → "Cat. 1 UPS output")."""

    value: str
    text: str
    color: str | None = None


@dataclass(frozen=True)
class Style:
    """How a value is shown: Grafana unit id, decimals, axis range, threshold steps, value mappings."""

    unit: str
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    steps: tuple[Step, ...] = ()
    mappings: tuple[ValueText, ...] = ()

    def but(
        self,
        *,
        unit: str | None = None,
        decimals: int | None = None,
        min: float | None = None,
        max: float | None = None,
        steps: tuple[Step, ...] | None = None,
    ) -> Style:
        """A copy with some fields changed (the catalogue's styles are shared constants)."""
        return Style(
            unit=self.unit if unit is None else unit,
            decimals=self.decimals if decimals is None else decimals,
            min=self.min if min is None else min,
            max=self.max if max is None else max,
            steps=self.steps if steps is None else steps,
            mappings=self.mappings,
        )


@dataclass(frozen=True)
class Override:
    """Per-field changes, matched by the field's display name."""

    field: str
    style: Style | None = None
    right_axis: bool = False
    dashed: bool = False
    color: str | None = None
    hidden: bool = False
    bars: bool = False
    display_name: str | None = None


@dataclass(frozen=True)
class Link:
    """A link from a panel to another dashboard.

    A panel link keeps the time range and every variable (``${__all_variables}``). A data link (``data``)
    keeps the time range and sets what ``params`` says from the clicked value, e.g.
    ``var-node=${__field.labels.node}``; it does not pass variables, because a custom "All" value would
    be written into the URL raw.
    """

    title: str
    dashboard_uid: str
    params: str = ""
    data: bool = False


@dataclass(frozen=True)
class Panel:
    """One catalogue entry. ``id`` is explicit so links (``viewPanel=``) and diffs survive reordering."""

    id: int
    title: str
    description: str
    kind: Kind
    sql: str
    style: Style
    w: int = 8
    h: int = 8
    overrides: tuple[Override, ...] = ()
    #: Timeseries: "none", "normal" (stacked) or "percent" (stacked to 100 %).
    stacking: str = "none"
    bars: bool = False
    #: Display name template for long-format series, e.g. ``${__field.labels.node}``.
    series_name: str | None = None
    #: Grafana never makes ``$__interval`` shorter than this (hourly tables: "1h").
    min_interval: str | None = None
    #: Relative time override of the panel (e.g. "1y" for monthly PUE), independent of the dashboard range.
    time_from: str | None = None
    links: tuple[Link, ...] = ()
    #: Stat/gauge/bargauge: reduce each field to one value (False) or show one value per row (True).
    per_row: bool = False
    #: Timeseries legend as a table with these reducers (e.g. ("mean", "max")); empty = a plain list.
    legend_calcs: tuple[str, ...] = ()
    #: Timeseries: draw the threshold steps as dashed lines (temperature limits, PUE target).
    threshold_lines: bool = False
    #: Table: the column to sort by (descending) when the dashboard opens.
    sort_by: str | None = None
    #: What the panel shows when its query returns nothing. Set it on exception lists ("lost GPUs"), whose
    #: healthy state is empty; verification then accepts an empty result for this panel.
    no_value: str | None = None

    @property
    def query_format(self) -> int:
        return self.kind.query_format


@dataclass(frozen=True)
class Row:
    title: str
    id: int
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str


@dataclass(frozen=True)
class Dashboard:
    """A whole dashboard: stable ``uid``, the variables it uses (names from :mod:`dashboards.variables`)."""

    uid: str
    title: str
    description: str
    folder: Folder
    variables: tuple[str, ...]
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ()
    time_from: str = "now-24h"
    refresh: str = "5m"

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(p for r in self.rows for p in r.panels)

"""The preview draws each dashboard's panels from the same queries, to PNG plus an index page."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
from matplotlib import image

from dashboards.fieldstyle import FieldStyle, format_value
from dashboards.interpolation import TimeRange
from dashboards.preview import grafana_interval, preview
from dashboards.preview_draw import sorted_rows
from dashboards.render import GENERATED_DIR
from dashboards.verify import Checker, Scenario, load_dashboards


def _subset(tmp_path: Path, *names: str) -> Path:
    source = tmp_path / "source"
    for name in names:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(GENERATED_DIR / name, target)
    return source


def test_preview_draws_every_panel_of_each_dashboard(serving_file: Path, tmp_path: Path) -> None:
    source = _subset(tmp_path, "aigrid/aigrid-fleet.json", "aigrid-health/aigrid-gpu-health.json")
    out = tmp_path / "preview"
    result = preview(serving_file, out, source)
    assert result.time_range.end == dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    assert [d.uid for d in result.dashboards] == ["aigrid-fleet", "aigrid-gpu-health"]
    assert [(p.title, p.note) for d in result.dashboards for p in d.panels if p.note] == []
    assert len(result.dashboards[0].panels) == 13
    for d in result.dashboards:
        pixels = image.imread(d.image)
        height, width = pixels.shape[:2]
        assert width == 1497
        assert height > 700
        # Not a blank page: many distinct colours (lines, bars, heatmap cells, coloured values).
        rgb = (pixels[..., :3] * 255).astype(np.uint32)
        assert len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])) > 200
    page = result.index.read_text(encoding="utf-8")
    assert page.count("<img ") == 2
    assert "GPUs now" in page
    assert "Lost GPUs" in page


def test_a_range_without_data_says_so_per_panel(serving_file: Path, tmp_path: Path) -> None:
    source = _subset(tmp_path, "aigrid/aigrid-airan.json", "aigrid-health/aigrid-gpu-health.json")
    result = preview(serving_file, tmp_path / "p", source, end=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    notes = {p.title: p.note for d in result.dashboards for p in d.panels}
    assert notes["PRB utilisation"] == "No data"
    assert notes["RAN energy efficiency"] == "No data"
    # A reducing stat over no rows still returns one row of NULLs: drawn as "–", not "No data".
    assert notes["RAN over the range"] is None
    # Exception lists say what their empty state means, as Grafana shows their noValue.
    assert notes["Health event log"] == "No health events in the time range"
    assert notes["Lost GPUs"] == "None: every GPU seen in the range is reporting"
    page = result.index.read_text(encoding="utf-8")
    assert "(No data)" in page
    assert "(No health events in the time range)" in page


def test_tables_are_drawn_in_grafanas_order(serving_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    source = _subset(tmp_path, "aigrid-health/aigrid-gpu-health.json")
    (health,) = load_dashboards(source)
    end = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    checker = Checker(serving_con, health, Scenario("p", TimeRange(end - dt.timedelta(hours=6), end), "1m", "all"))
    states = checker.variables()
    assert states is not None
    lost = next(p for p in health["panels"] if p.get("title") == "Lost GPUs")
    result = checker.run(lost, lost["targets"][0], states)
    # Sorted by "Silent for", descending, as the panel's sortBy says (the query orders by last sample).
    assert [r[6] for r in sorted_rows(lost, result)] == [12000, 5400, 5400, 5400, 5400]
    assert result.time_range == TimeRange(end - dt.timedelta(hours=6), end)


def test_units_print_like_grafana() -> None:
    assert format_value(0.4595, FieldStyle("percentunit", decimals=1)) == "46.0 %"
    assert format_value(1234.5, FieldStyle("kwatth", decimals=0)) == "1 MWh"
    assert format_value(22.68, FieldStyle("kwatt", decimals=1)) == "22.7 kW"
    assert format_value(837_880_000_000.0, FieldStyle("decbits", decimals=1)) == "837.9 Gb"
    assert format_value(55819.454, FieldStyle("currencyJPY", decimals=0)) == "¥55,819"
    assert format_value(46.2, FieldStyle("suffix: GPU·h", decimals=1)) == "46.2 GPU·h"
    assert format_value(2_765_319.0, FieldStyle("si:bit/J", decimals=2)) == "2.77 Mbit/J"
    assert format_value(570.9, FieldStyle("si:bit/J", decimals=2)) == "570.90 bit/J"
    assert format_value(5400, FieldStyle("s")) == "1:30:00"
    assert format_value(2, FieldStyle("none", mappings={"2": "Category 2 (PDU output)"})) == "Category 2 (PDU output)"
    assert format_value(None, FieldStyle()) == "–"


def test_interval_follows_grafana_steps() -> None:
    assert grafana_interval(dt.timedelta(hours=6)) == "1m"
    assert grafana_interval(dt.timedelta(days=7)) == "30m"  # 604.8 s per point
    assert grafana_interval(dt.timedelta(days=30)) == "1h"
    assert grafana_interval(dt.timedelta(days=400)) == "12h"  # 34,560 s per point
    assert grafana_interval(dt.timedelta(days=730)) == "1d"

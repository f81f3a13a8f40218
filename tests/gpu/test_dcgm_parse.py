"""The exposition parser: exactly prometheus_client's samples on good input, defined outcomes on bad input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collectors.errors import InputError
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.parse import ExpositionParser, parse_exposition
from collectors.gpu.dcgm.render import GpuReading, render_exposition
from collectors.gpu.dcgm.synthetic import node_readings, node_scrape

SAMPLE_FILES = sorted((Path(__file__).parents[1] / "fixtures" / "samples" / "dcgm").glob("*.txt"))


def reference(text: str) -> list[tuple[str, dict[str, str], float, float | None]]:
    """prometheus_client's samples. It renames samples of ``counter`` families without a ``_total`` suffix
    to ``<name>_total`` (its OpenMetrics view); :func:`ours` applies the same renaming so names compare."""
    out = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.append((s.name, dict(s.labels), float(s.value), s.timestamp))
    return out


def ours(text: str, parser: ExpositionParser | None = None) -> list[tuple[str, dict[str, str], float, float | None]]:
    result = (parser or ExpositionParser()).parse(text)
    assert result.problems == []
    out = []
    for sample in result.samples:
        name = sample.series.name
        if result.types.get(name) == "counter" and not name.endswith("_total"):
            name += "_total"
        ts = None if sample.timestamp_ms is None else sample.timestamp_ms / 1000
        out.append((name, sample.series.label_map, sample.value, ts))
    return out


def assert_same(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[:2] == y[:2]
        assert x[3] == y[3]
        assert (math.isnan(x[2]) and math.isnan(y[2])) or x[2] == y[2], (x, y)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_same_samples_as_prometheus_client_on_every_real_sample(path: Path) -> None:
    text = path.read_text()
    assert_same(ours(text), reference(text))
    assert len(ours(text)) in (11, 20, 21, 23)


GENERATED = [
    pytest.param(node_scrape(3), id="legacy-8gpu-pods-help"),
    pytest.param(node_scrape(4, with_help=False), id="legacy-no-help"),
    pytest.param(node_scrape(5, generation=Generation.V49), id="4.9"),
    pytest.param(node_scrape(6, generation=Generation.V1, with_help=False), id="1.x"),
    pytest.param(
        render_exposition(
            [
                GpuReading(
                    "GPU-m",
                    0,
                    "node",
                    {"gr_engine_active_ratio": 0.5, "xid_last": 79},
                    gpu_instance_id=13,
                    mig_profile="1g.10gb",
                    xid_message='GPU has fallen off the bus "\\ bus\n 0',
                    holders=[{"pod": "a", "namespace": "b"}, {"hpc_job": "42"}],
                    xid_window={79: 2},
                )
            ]
        ),
        id="mig-escapes-holders-xid-window",
    ),
    pytest.param(
        "# A free comment\n"
        "# HELP odd Help with \\\\ and \\n escapes\n"
        "# TYPE odd gauge\n"
        'odd{a="1",b="x"} 1.5e3 1700000000123\n'
        "odd 7\n"
        'odd{ a = "2" , } +Inf\n'
        'odd{a="3"} -Inf\n'
        'odd{a="4"}\tNaN\n'
        "\n"
        "plain_total 12\n"
        "  spaced   4   \n"
        'colon:metric{le="0.5"} 0\n',
        id="timestamps-inf-nan-tabs-spacing",
    ),
]


@pytest.mark.parametrize("text", GENERATED)
def test_same_samples_as_prometheus_client_on_generated_scrapes(text: str) -> None:
    assert_same(ours(text), reference(text))


def test_repeated_scrapes_of_a_target_agree_with_a_fresh_parse() -> None:
    """The series-key cache and the previous-scrape template give what a fresh parser gives."""
    parser = ExpositionParser("node-7")
    for k in range(6):
        text = node_scrape(7, scrape=k)
        if k == 3:  # a pod goes away: every line of that GPU changes
            text = text.replace(',container="trainer"', "")
        if k == 4:  # a value written differently and a line reordered
            text = text.replace(" 345\n", " 345.0\n")
        assert_same(ours(text, parser), reference(text))
    # The steady state re-uses the interned series objects.
    first = parser.parse(node_scrape(7, scrape=10))
    second = parser.parse(node_scrape(7, scrape=11))
    assert first.series is second.series or all(a is b for a, b in zip(first.series, second.series, strict=True))
    assert first.values != second.values


def test_malformed_lines_are_reported_with_their_line_number_and_the_rest_kept() -> None:
    text = (
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 61\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-b" 62\n'  # unclosed label set
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} watts\n'  # not a number
        '3bad{gpu="0"} 1\n'  # bad metric name
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} 1_000\n'  # underscores are not Prometheus numbers
        'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b"} 300.5\n'
    )
    result = parse_exposition(text, origin="node:9400")
    assert [s.series.label_map["gpu"] for s in result.samples] == ["0", "1"]
    assert result.values == [61.0, 300.5]
    assert [p.line for p in result.problems] == [2, 3, 4, 5]
    assert str(result.problems[1]).startswith("node:9400:line 3: value 'watts'")


def test_duplicate_series_keep_the_first_and_report_the_repeat() -> None:
    text = 'a{x="1"} 1\nb 2\na{x="1"} 3\n'
    result = parse_exposition(text)
    assert result.values == [1.0, 2.0]
    assert len(result.problems) == 1
    assert result.problems[0].line == 3
    assert "first on line 1" in result.problems[0].reason


def test_the_same_series_with_labels_in_another_order_is_a_duplicate() -> None:
    result = parse_exposition('a{x="1",y="2"} 1\na{y="2",x="1"} 2\n')
    assert result.values == [1.0]
    assert result.problems[0].line == 2


def test_an_html_page_is_refused_as_a_whole() -> None:
    with pytest.raises(InputError, match="HTML/XML page"):
        parse_exposition("<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n", origin="node:9400")


def test_a_cut_off_last_line_is_dropped_when_the_body_must_end_with_a_line_feed() -> None:
    text = 'a{x="1"} 1234\na{x="2"} 12'  # the second value may have been 1234 too
    strict = parse_exposition(text, require_final_newline=True)
    assert strict.values == [1234.0]
    assert strict.problems[0].line == 2
    assert "last line dropped" in strict.problems[0].reason
    assert parse_exposition(text).values == [1234.0, 12.0]  # a saved file: kept


def test_label_escapes_are_unescaped_as_prometheus_does() -> None:
    text = 'm{a="quote \\" back \\\\ nl \\n tab \\t"} 1\n'
    (sample,) = parse_exposition(text).samples
    assert sample.series.label_map["a"] == 'quote " back \\ nl \n tab \\t'
    assert reference(text)[0][1]["a"] == sample.series.label_map["a"]


def test_help_and_type_lines_are_collected() -> None:
    result = parse_exposition(node_scrape(1))
    assert result.types["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] == "counter"
    assert result.helps["DCGM_FI_DEV_SM_CLOCK"] == "SM clock frequency (in MHz)."


def test_a_garbage_body_keeps_a_bounded_number_of_problems() -> None:
    result = parse_exposition("\x00\x1f\x8b binary\n" * 1000)
    assert result.values == []
    assert result.problem_count == 1000
    assert len(result.problems) == 100


def test_the_cache_starts_afresh_beyond_its_bound() -> None:
    parser = ExpositionParser(max_series=50)
    parser.parse(node_scrape(1))  # 200 series
    assert parser.generation == 0
    result = parser.parse(node_scrape(2))
    assert parser.generation == 1
    assert len(result) == 200


def test_readings_of_many_gpus_stay_distinct() -> None:
    readings = node_readings(9, gpus=16)
    result = parse_exposition(render_exposition(readings))
    uuids = {s.series.label_map["UUID"] for s in result.samples}
    assert len(uuids) == 16

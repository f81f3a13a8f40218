"""Scrape targets from the command line, Prometheus file_sd files and plain lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.errors import InputError
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.targets import load_targets_file, parse_target_list


def test_command_line_list() -> None:
    a, b = parse_target_list("10.0.0.1:9400,dgx-02.example:9400", default_site="tyo1")
    assert (a.url, a.site, a.node_hint) == ("http://10.0.0.1:9400/metrics", "tyo1", "10.0.0.1")
    assert (b.url, b.node_hint) == ("http://dgx-02.example:9400/metrics", "dgx-02.example")


def test_urls_keep_their_scheme_and_path() -> None:
    (t,) = parse_target_list("https://gpu-7.example:8443/dcgm/metrics", default_site="s")
    assert t.url == "https://gpu-7.example:8443/dcgm/metrics"


def test_file_sd_json_with_per_group_sites(tmp_path: Path) -> None:
    path = tmp_path / "dcgm.json"
    groups = [
        {"targets": ["10.0.0.1:9400", "10.0.0.2:9400"], "labels": {"site": "tyo1"}},
        {"targets": ["10.1.0.1:9400"], "labels": {"site": "osa1", "node": "dgx-b1", "dcgm_generation": "4.9"}},
    ]
    path.write_text(json.dumps(groups))
    targets = load_targets_file(path, default_site=None)
    assert [(t.site, t.node_hint, t.generation) for t in targets] == [
        ("tyo1", "10.0.0.1", None),
        ("tyo1", "10.0.0.2", None),
        ("osa1", "dgx-b1", Generation.V49),
    ]


def test_file_sd_yaml(tmp_path: Path) -> None:
    path = tmp_path / "dcgm.yaml"
    path.write_text("- targets: ['dgx-01:9400']\n  labels: {node: dgx-01}\n")
    (t,) = load_targets_file(path, default_site="tyo1")
    assert (t.site, t.node_hint) == ("tyo1", "dgx-01")


def test_plain_list_with_labels_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("# rack A\n10.0.0.1:9400 site=tyo1 node=dgx-a1\n\n10.0.0.2:9400   # uses --site\n")
    a, b = load_targets_file(path, default_site="osa1")
    assert (a.site, a.node_hint, b.site) == ("tyo1", "dgx-a1", "osa1")


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("10.0.0.1:9400\n10.0.0.2\n", 2, "has no port"),
        ("10.0.0.1:9400 site\n", 1, "expected key=value"),
        ("10.0.0.1:99999\n", 1, "Port out of range"),
        ("ftp://x:21\n", 1, r"not an http\(s\) endpoint"),
        ("10.0.0.1:9400 dcgm_generation=5.0\n", 1, "dcgm_generation '5.0'"),
    ],
)
def test_plain_list_errors_name_the_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "targets.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        load_targets_file(path, default_site="s")
    assert err.value.line == line
    assert err.value.file == str(path)


def test_a_target_without_a_site_is_refused() -> None:
    with pytest.raises(InputError, match="has no site: pass --site"):
        parse_target_list("10.0.0.1:9400", default_site=None)


def test_duplicates_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="listed twice"):
        parse_target_list("h:9400,h:9400/metrics", default_site="s")
    empty = tmp_path / "t.txt"
    empty.write_text("# nothing yet\n")
    with pytest.raises(InputError, match="no targets"):
        load_targets_file(empty, default_site="s")


def test_bad_file_sd(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"targets": []}')
    with pytest.raises(InputError, match="list of"):
        load_targets_file(path, default_site="s")
    path.write_text('[{"targets": ["a:1"],')
    with pytest.raises(InputError, match="not valid JSON") as err:
        load_targets_file(path, default_site="s")
    assert err.value.line == 1

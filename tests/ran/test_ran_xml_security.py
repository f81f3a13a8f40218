"""Hostile and broken XML: external entities, billion laughs, DTDs, truncation, PIs before the declaration."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.errors import InputError
from collectors.ran.parse import parse_file
from tests.ran.pm_xml import BODY, billion_laughs, external_entity, simulated_gnb, write


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.txt", "12345")
    path = write(tmp_path / "xxe.xml", external_entity(secret))
    with pytest.raises(InputError) as err:
        parse_file(path, site="x")
    assert "external entity 'xxe'" in err.value.reason
    assert "XXE" in err.value.reason
    assert "12345" not in str(err.value)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "lol.xml", billion_laughs())
    with pytest.raises(InputError, match="billion laughs"):
        parse_file(path, site="x")


def test_plain_dtd_is_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path / "dtd.xml", '<?xml version="1.0"?>\n<!DOCTYPE measCollecFile>\n' + BODY.format(value="1"))
    with pytest.raises(InputError, match=r"declares a DTD \(<!DOCTYPE>\): refused"):
        parse_file(path, site="x")


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    text = simulated_gnb("gnb-1", "2026-11-20T13:15:00+09:00")
    path = write(tmp_path / "cut.xml", text[: len(text) // 2])
    with pytest.raises(InputError, match="file is truncated") as err:
        parse_file(path, site="x")
    assert err.value.line == text[: len(text) // 2].count("\n") + 1


def test_broken_markup_in_the_middle_is_not_called_truncation(tmp_path: Path) -> None:
    text = simulated_gnb("gnb-1", "2026-11-20T13:15:00+09:00").replace('<r p="2">273</r>', '<r p="2">273</x>', 1)
    path = write(tmp_path / "broken.xml", text)
    with pytest.raises(InputError, match="not well-formed XML") as err:
        parse_file(path, site="x")
    assert err.value.line is not None
    assert err.value.line < text.count("\n")


def test_stylesheet_pi_before_the_declaration_is_refused(tmp_path: Path) -> None:
    text = '<?xml-stylesheet type="text/xsl" href="MeasDataCollection.xsl"?>\n' + simulated_gnb(
        "g", "2026-11-20T04:15:00Z"
    )
    path = write(tmp_path / "pi.xml", text)
    with pytest.raises(InputError, match="XML declaration allowed only at the start"):
        parse_file(path, site="x")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"A,B,C\n1,2,3\n", "not a PM file: neither XML nor JSON"),
        (b"<foo/>", "unknown XML root element <foo>"),
        (b'{"hello": 1}', "unknown JSON layout (top level: hello)"),
        (b'{"event": {"commonEventHeader": {"domain": "fault"}}}', "holds no perf3gpp or measurement event"),
        (b'{"event": {"commonEventHeader": ', "JSON is truncated"),
    ],
)
def test_unknown_or_empty_files_are_refused_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "f.dat"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        parse_file(path, site="x")
    assert reason in err.value.reason

"""The fast XML path against a plain reference reader written on the standard library's ElementTree.

The parser pulls values out with XPath per measInfo and converts text in Polars batches, for speed; this
reference walks every element one by one. Both must yield the same records for every XML sample and for
a generated file that exercises every feature (vectors, NIL, blanks, sparse r, suspect, list form).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from collectors.ran.parse import parse_file
from tests.ran.pm_xml import meas_collec, meas_data, meas_info, simulated_gnb, write

Row = tuple[str, str, str, int | None, float | None, bool, dt.datetime]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _when(text: str) -> dt.datetime:
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.strip())
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _values(text: str) -> list[tuple[int | None, float | None]] | None:
    text = text.strip()
    if "," not in text:
        if text in ("", "NIL"):
            return [(None, None)]
        try:
            return [(None, float(text))]
        except ValueError:
            return None
    parts = [p.strip() for p in text.split(",")]
    if all(p in ("", "NIL") for p in parts):
        return [(None, None)]
    out: list[tuple[int | None, float | None]] = []
    for i, p in enumerate(parts):
        if p in ("", "NIL"):
            out.append((i, None))
            continue
        try:
            out.append((i, float(p)))
        except ValueError:
            continue
    return out


def reference(path: Path) -> list[Row]:
    """(managed element, object, counter, vector index, value, suspect, period end) for every value."""
    root = ET.parse(path).getroot()
    rows: list[Row] = []
    for data in (e for e in root if _local(e.tag) == "measData"):
        me_dn = next(e.get("localDn") or "" for e in data if _local(e.tag) in ("managedElement", "measEntity"))
        me = re.findall(r"ManagedElement=([^,]+)", me_dn)
        name = me[-1] if me else me_dn.split("=")[-1]
        for info in (e for e in data if _local(e.tag) == "measInfo"):
            gran = next(e for e in info if _local(e.tag) == "granPeriod")
            end = _when(gran.get("endTime") or "")
            by_p = {t.get("p"): (t.text or "").strip() for t in info if _local(t.tag) == "measType"}
            listed = [n for t in info if _local(t.tag) == "measTypes" for n in (t.text or "").split()]
            for mv in (e for e in info if _local(e.tag) == "measValue"):
                ldn = (mv.get("measObjLdn") or "").strip() or me_dn
                suspect = any(_local(e.tag) == "suspect" and (e.text or "").strip() == "true" for e in mv)
                pairs: list[tuple[str, str]] = []
                for e in mv:
                    if _local(e.tag) == "r":
                        pairs.append((by_p[e.get("p")], e.text or ""))
                    elif _local(e.tag) == "measResults":
                        tokens = (e.text or "").split()
                        if len(tokens) == len(listed):
                            pairs += list(zip(listed, tokens, strict=True))
                for counter, text in pairs:
                    if not re.match(r"^[A-Za-z_]", counter):
                        continue
                    for index, value in _values(text) or []:
                        rows.append((name, ldn, counter, index, value, suspect, end))
    return sorted(rows, key=repr)


def ours(path: Path) -> list[Row]:
    r = parse_file(path, site="x").records
    full = (
        pl.when(pl.col("sub_counter").is_null())
        .then(pl.col("counter"))
        .otherwise(pl.concat_str("counter", pl.lit("."), "sub_counter"))
    )
    cols = r.select(
        "managed_element", "measured_object", full.alias("c"), "vector_index", "value", "suspect", "period_end"
    )
    return sorted(cols.rows(), key=repr)


XML_SAMPLES = [
    "A20181002.0000-1000-0015-1000_5G.xml",
    "A20181004.0000-1000-0015-1000_5G.xml",
    "A20230515.0700_0100-0715_0100_GNODEB-0.xml",
    "C20190328.0000-0015.xml",
    "bodastage_A3_measTypes_list_tz_mismatch.xml",
    "bodastage_A4_sparse_r.xml",
]


@pytest.mark.parametrize("name", XML_SAMPLES)
def test_samples_match_the_reference(samples: Path, name: str) -> None:
    path = samples / "ran" / name
    assert ours(path) == reference(path)


def test_generated_file_matches_the_reference(tmp_path: Path) -> None:
    end = "2026-11-20T13:15:00+0900"
    odd = meas_info(
        end,
        ["A.Sparse", "A.Vec", "A.Nil", "A.Blank"],
        [("C=1", ["1", None, "NIL", " "], True), ("C=2", [None, "5,NIL,,8", "2", " , "], False)],
    )
    listed = meas_info(end, ["L.A", "L.B"], [("C=3", ["1.5", "2e3"], None)], list_form=True, duration="PT15M")
    text = meas_collec(meas_data("SubNetwork=1,ManagedElement=gnb-x", odd, listed))
    gnb = simulated_gnb("gnb-y", end)
    a = write(tmp_path / "odd.xml", text)
    b = write(tmp_path / "gnb.xml", gnb)
    assert ours(a) == reference(a)
    assert ours(b) == reference(b)
    # C=1: Sparse, Nil, Blank (no r for Vec) = 3; C=2: Vec × 4, Nil, Blank (one null for " , ") = 6; list: 2.
    assert len(ours(a)) == 3 + 6 + 2

"""TS 32.435 parsing details: vectors, NIL and blanks, suspect, zones, bad values, gzip, batching, simulator files."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

import polars as pl
import pytest

from collectors.errors import InputError
from collectors.ran.meascollec import MeasFileParser
from collectors.ran.parse import parse_file
from collectors.ran.records import Problems
from tests.ran.pm_xml import meas_collec, meas_data, meas_info, simulated_gnb, write

UTC = dt.UTC
END = "2026-11-20T13:15:00+09:00"


def _records(path: Path, **kw: object) -> pl.DataFrame:
    return parse_file(path, site="tyo1", **kw).records  # type: ignore[arg-type]


def test_nil_blank_and_vector_values(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data(
            "ManagedElement=gnb-1",
            meas_info(
                END,
                ["A.One", "A.Two", "A.Three", "A.Four", "A.Five", "A.Six"],
                [("ManagedElement=gnb-1,X=1", ["NIL", " ", "1,2,3", " , , ", "4,,NIL,7", " 12.5 "], None)],
            ),
        )
    )
    r = _records(write(tmp_path / "a.xml", text)).sort("counter", "vector_index", nulls_last=False)
    got = {(c, i): v for c, i, v in r.select("counter", "vector_index", "value").iter_rows()}
    assert got == {
        ("A.One", None): None,  # NIL
        ("A.Two", None): None,  # blank
        ("A.Three", 0): 1.0,
        ("A.Three", 1): 2.0,
        ("A.Three", 2): 3.0,
        ("A.Four", None): None,  # " , , " = no value for the whole vector
        ("A.Five", 0): 4.0,
        ("A.Five", 1): None,
        ("A.Five", 2): None,
        ("A.Five", 3): 7.0,
        ("A.Six", None): 12.5,
    }


def test_garbage_value_is_reported_with_line_and_counter_and_the_rest_kept(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data(
            "ManagedElement=gnb-1",
            meas_info(END, ["A.Good", "A.Bad", "A.Vec"], [("ManagedElement=gnb-1,X=1", ["5", "lots", "1,x,3"], None)]),
        )
    )
    path = write(tmp_path / "a.xml", text)
    result = parse_file(path, site="tyo1")
    values = result.records.select("counter", "vector_index", "value").sort("counter", "vector_index").rows()
    assert values == [("A.Good", None, 5.0), ("A.Vec", 0, 1.0), ("A.Vec", 2, 3.0)]
    bad = {p.field: p for p in result.problems}
    assert bad["A.Bad"].reason == "value 'lots' is not a number; record skipped"
    assert bad["A.Bad"].line == 13
    assert bad["A.Vec"].reason == "value 'x' is not a number; record skipped"


def test_suspect_flags_whole_measvalue(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data(
            "ManagedElement=gnb-1",
            meas_info(
                END,
                ["A.X", "A.Y"],
                [
                    ("C=1", ["1", "2"], True),
                    ("C=0", [None, None], True),  # a measValue with no r at all
                    ("C=2", ["3", "4"], False),
                    ("C=3", ["5", "6"], None),
                ],
            ),
        )
    )
    r = _records(write(tmp_path / "a.xml", text))
    assert r.group_by("measured_object").agg(pl.col("suspect").all(), pl.len()).sort("measured_object").rows() == [
        ("C=1", True, 2),
        ("C=2", False, 2),
        ("C=3", False, 2),
    ]
    assert r.get_column("value").sum() == 21.0


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("2026-11-20T13:15:00+0900", dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)),  # no colon
        ("2026-11-20T13:15:00+09:00", dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)),
        ("2026-11-20T04:15:00Z", dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)),
        ("2026-11-19T23:15:00-0500", dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)),
        ("2026-11-20T05:45:00.000+01:30", dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)),
    ],
)
def test_time_zones(tmp_path: Path, end: str, expected: dt.datetime) -> None:
    text = meas_collec(meas_data("ManagedElement=g", meas_info(end, ["A.X"], [("C=1", ["1"], None)], duration="PT15M")))
    row = _records(write(tmp_path / "a.xml", text)).row(0, named=True)
    assert row["period_end"] == expected
    assert row["period_start"] == expected - dt.timedelta(minutes=15)


def test_zoneless_time_uses_default_zone_and_is_reported(tmp_path: Path) -> None:
    text = meas_collec(meas_data("ManagedElement=g", meas_info("2026-11-20T13:15:00", ["A.X"], [("C=1", ["1"], None)])))
    path = write(tmp_path / "a.xml", text)
    result = parse_file(path, site="tyo1", default_tz="Asia/Tokyo")
    assert result.records.get_column("period_end").to_list() == [dt.datetime(2026, 11, 20, 4, 15, tzinfo=UTC)]
    assert len(result.problems) == 1
    assert result.problems[0].field == "endTime"
    assert "Asia/Tokyo" in result.problems[0].reason


def test_bad_duration_skips_that_measinfo_only(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data(
            "ManagedElement=g",
            meas_info(END, ["A.X"], [("C=1", ["1"], None)], duration="some duration"),
            meas_info(END, ["A.Y"], [("C=1", ["2"], None)]),
        )
    )
    result = parse_file(write(tmp_path / "a.xml", text), site="tyo1")
    assert result.records.get_column("counter").to_list() == ["A.Y"]
    assert "not an xs:duration" in result.problems[0].reason


def test_list_form_count_mismatch_skips_the_row(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data(
            "ManagedElement=g",
            meas_info(END, ["A.X", "A.Y"], [("C=1", ["1"], None), ("C=2", ["3", "4"], None)], list_form=True),
        )
    )
    result = parse_file(write(tmp_path / "a.xml", text), site="tyo1")
    assert result.records.select("measured_object", "value").sort("value").rows() == [("C=2", 3.0), ("C=2", 4.0)]
    assert result.problems[0].reason.startswith("1 results for 2 measTypes")


def test_r_with_unknown_p_is_reported(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data("ManagedElement=g", meas_info(END, ["A.X"], [("C=1", ["1", "2"], None)]))
    )  # r p="2" has no measType
    result = parse_file(write(tmp_path / "a.xml", text), site="tyo1")
    assert result.records.get_column("value").to_list() == [1.0]
    assert result.problems[0].reason == "r p='2' has no measType in its measInfo; value skipped"


def test_repeated_counter_keeps_the_first(tmp_path: Path) -> None:
    info = meas_info(END, ["A.X"], [("C=1", ["1"], None)])
    again = meas_info(END, ["A.X"], [("C=1", ["9"], None)])
    result = parse_file(write(tmp_path / "a.xml", meas_collec(meas_data("ManagedElement=g", info, again))), site="s")
    assert result.records.get_column("value").to_list() == [1.0]
    assert "1 repeated record(s)" in result.problems[0].reason


def test_sub_counters_split_from_3gpp_names(tmp_path: Path) -> None:
    text = meas_collec(
        meas_data(
            "ManagedElement=g",
            meas_info(
                END,
                [
                    "DRB.UEThpDl",
                    "DRB.UEThpDl.01",
                    "DRB.UEThpDl.010003e8",
                    "pmRadioThpVolDl",
                    "MM.HoExeInterReq.TimeMean",
                ],
                [("GNBDUFunction=1,NRCellDU=7", ["10", "11", "12", "13", "14"], None)],
            ),
        )
    )
    r = _records(write(tmp_path / "a.xml", text))
    assert r.select("counter", "sub_counter", "cell").sort("counter", "sub_counter", nulls_last=False).rows() == [
        ("DRB.UEThpDl", None, "7"),
        ("DRB.UEThpDl", "01", "7"),
        ("DRB.UEThpDl", "010003e8", "7"),
        ("MM.HoExeInterReq.TimeMean", None, "7"),
        ("pmRadioThpVolDl", None, "7"),
    ]


def test_simulator_file_parses_with_unified_cells(tmp_path: Path) -> None:
    """The demo simulator's A-type file (+09:00 offsets): DU and CU counters meet on cell ids."""
    path = write(tmp_path / "A20261120.1300+0900-1315+0900_gnb-tyo1-01.xml", simulated_gnb("gnb-tyo1-01", END))
    r = _records(path)
    assert r.height == 2 * 9 + 2 * 2 + 2 * 2 + 2
    assert set(r.get_column("managed_element")) == {"gnb-tyo1-01"}
    assert set(r.get_column("period_start")) == {dt.datetime(2026, 11, 20, 4, 0, tzinfo=UTC)}
    cell2 = r.filter(pl.col("cell") == "2")
    assert cell2.height == 13  # 9 DU + 2 CU-CP + 2 CU-UP counters
    assert set(cell2.get_column("measured_object").str.extract(r"(GNB\w+Function)")) == {
        "GNBDUFunction",
        "GNBCUCPFunction",
        "GNBCUUPFunction",
    }
    units = dict(r.select("counter", "unit").unique().iter_rows())
    assert units["DRB.PdcpSduVolumeDL"] == "Mbit"
    assert units["DRB.UEThpDl"] == "kbit/s"
    assert units["PEE.Energy"] == "kWh"
    assert units["RRU.PrbTotDl"] == "%"
    assert units["RRU.PrbUsedDl"] == "PRB"
    node = r.filter(pl.col("cell").is_null())
    assert dict(node.select("counter", "value").iter_rows()) == {"PEE.AvgPower": 800.0, "PEE.Energy": 0.2}


def test_gzip_by_content_and_hash_of_the_bytes(tmp_path: Path) -> None:
    raw = simulated_gnb("gnb-1", END).encode()
    path = tmp_path / "pm.bin"  # no .gz in the name: detected by its magic bytes
    path.write_bytes(gzip.compress(raw))
    r = _records(path)
    assert r.height == 28
    assert set(r.get_column("file_sha256")) == {hashlib.sha256(path.read_bytes()).hexdigest()}
    assert set(r.get_column("source_file")) == {"pm.bin"}


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml.gz"
    with gzip.open(path, "wb") as gz:
        gz.write(b"<measCollecFile>" + b" " * (4 * 1024 * 1024))
    with pytest.raises(InputError, match="expands to more than 1,048,576 bytes"):
        parse_file(path, site="x", max_bytes=1024 * 1024)


def test_truncated_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(gzip.compress(simulated_gnb("g", END).encode())[:300])
    with pytest.raises(InputError, match="truncated"):
        parse_file(path, site="x")


def test_small_batches_give_the_same_records(tmp_path: Path) -> None:
    blocks = [
        meas_data(f"ManagedElement=g{i}", meas_info(END, ["A.X", "A.V"], [("C=1", ["1", "1,2"], None)]))
        for i in range(30)
    ]
    path = write(tmp_path / "a.xml", meas_collec(*blocks))
    whole = list(MeasFileParser(path, problems=Problems("a")).batches())
    small = list(MeasFileParser(path, problems=Problems("a"), batch_values=7).batches())
    assert len(whole) == 1
    assert len(small) > 5
    order = ["managed_element", "counter", "vector_index"]
    assert pl.concat(small).sort(order).equals(whole[0].sort(order))
    assert whole[0].height == 90


def test_iter_batches_streams_conformed_records(tmp_path: Path) -> None:
    from collectors.ran.parse import iter_batches
    from collectors.schemas import RAN_PM

    path = write(tmp_path / "a.xml", simulated_gnb("gnb-1", END))
    batches = list(iter_batches(path, site="tyo1", sha256="ab"))
    assert all(b.columns == list(RAN_PM.columns) for b in batches)
    whole = parse_file(path, site="tyo1", sha256="ab").records
    order = ["measured_object", "counter"]
    assert pl.concat(batches).sort(order).equals(whole.sort(order))

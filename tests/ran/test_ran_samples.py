"""Every real sample file: the records it yields (counts and exact values) or the reason it is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from collectors.errors import InputError
from collectors.ran.parse import parse_file
from collectors.schemas import RAN_PM

UTC = dt.UTC


def _parse(samples: Path, name: str, **kw: object) -> pl.DataFrame:
    result = parse_file(samples / "ran" / name, site="tyo1", **kw)  # type: ignore[arg-type]
    assert result.records.columns == list(RAN_PM.columns)
    return result.records


def _one(frame: pl.DataFrame, **where: object) -> dict[str, object]:
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_spec_example_32435(samples: Path) -> None:
    """A20181002: 3 measInfo, p= form, suspect rows, a 9-element vector, -1000 in the name only."""
    r = _parse(samples, "A20181002.0000-1000-0015-1000_5G.xml")
    assert r.height == 36
    assert r.get_column("suspect").sum() == 8
    assert set(r.get_column("managed_element")) == {"RNC-Gbg-1"}
    # Times from granPeriod (14:14:30+02:00, PT900S), not from the file name.
    assert set(r.get_column("period_end")) == {dt.datetime(2000, 3, 1, 12, 14, 30, tzinfo=UTC)}
    assert set(r.get_column("period_start")) == {dt.datetime(2000, 3, 1, 11, 59, 30, tzinfo=UTC)}
    assert set(r.get_column("granularity_s")) == {900}
    row = _one(r, measured_object="RncFunction=RF-1,UtranCell=Gbg-998", counter="attImmediateAssignProcs7")
    assert row["value"] == 127.0
    assert row["cell"] == "UtranCell=Gbg-998"
    vector = r.filter(pl.col("counter") == "succTCHSeizures2").sort("vector_index")
    assert vector.get_column("vector_index").to_list() == list(range(9))
    assert vector.get_column("value").to_list() == [86, 87, 2, 6, 77, 96, 75, 33, 24]
    assert set(r.get_column("source_format")) == {"ts32435"}


def test_28532_flavour_yields_the_same_records(samples: Path) -> None:
    a = _parse(samples, "A20181002.0000-1000-0015-1000_5G.xml")
    b = _parse(samples, "A20181004.0000-1000-0015-1000_5G.xml")
    assert set(b.get_column("source_format")) == {"ts28532"}
    keys = ["measured_object", "counter", "vector_index", "value", "suspect", "period_end", "managed_element"]
    assert a.select(keys).sort(keys).equals(b.select(keys).sort(keys))


def test_type_c_file_with_three_periods_and_list_form(samples: Path) -> None:
    r = _parse(samples, "C20190328.0000-0015.xml")
    assert r.height == 12
    assert r.group_by("managed_element").len().sort("managed_element").rows() == [
        ("Dublin1", 4),
        ("Dublin2", 4),
        ("Dublin3", 4),
    ]
    row = _one(r, managed_element="Dublin3", counter="zz3")
    assert row["value"] == 333.0
    assert row["granularity_s"] == 300
    assert row["period_end"] == dt.datetime(2003, 10, 2, 12, 15, tzinfo=UTC)
    assert row["period_start"] == dt.datetime(2003, 10, 2, 12, 10, tzinfo=UTC)
    assert _one(r, managed_element="Dublin1", counter="b1")["period_start"] == dt.datetime(
        2001, 10, 2, 12, 13, 20, tzinfo=UTC
    )


def test_ericsson_layout_with_offsets_without_colon(samples: Path) -> None:
    r = _parse(samples, "A20230515.0700_0100-0715_0100_GNODEB-0.xml")
    assert r.height == 11995
    # "+0100" is repaired: 07:15+01:00 is 06:15 UTC.
    assert set(r.get_column("period_end")) == {dt.datetime(2023, 5, 15, 6, 15, tzinfo=UTC)}
    assert set(r.get_column("managed_element")) == {"GNODEB-0"}
    # NRCellDU=1 and NRCellCU=1 meet as cell "1"; LTE cells keep their class.
    cells = r.group_by("cell").len().sort("cell", nulls_last=True).rows()
    assert cells == [
        ("1", 1804),
        ("2", 1804),
        ("31", 1804),
        ("32", 1804),
        ("EUtranCellFDD=1", 753),
        ("EUtranCellFDD=2", 753),
        (None, 3273),
    ]
    meter = "ManagedElement=GNODEB-0,Equipment=1,FieldReplaceableUnit=BB-1,EnergyMeter=1"
    assert _one(r, measured_object=meter, counter="pmCounterNumber530")["value"] == 83.0
    power = r.filter((pl.col("measured_object") == meter) & (pl.col("counter") == "pmCounterNumber532"))
    assert power.height == 150  # one sample per 6 s over 900 s
    assert power.get_column("value").sum() == 49951.0
    assert r.get_column("suspect").sum() == 454
    assert r.get_column("value").null_count() == 0


def test_list_form_wrapped_over_lines_and_zone_mismatch(samples: Path) -> None:
    r = _parse(samples, "bodastage_A3_measTypes_list_tz_mismatch.xml")
    assert r.height == 10
    assert set(r.get_column("managed_element")) == {"PS_Core"}
    row = _one(r, counter="MM.AttIntraSgsnRaUpdate")  # the name after the line break
    assert row["value"] == 40.0
    # granPeriod endTime is -06:00 while beginTime is -05:00: the granPeriod wins.
    assert row["period_end"] == dt.datetime(2005, 6, 9, 19, 15, tzinfo=UTC)
    paging = _one(r, counter="MM.AttPsPagingProcIu")
    assert paging["granularity_s"] == 1800
    assert paging["period_start"] == dt.datetime(2005, 6, 9, 18, 45, tzinfo=UTC)


def test_sparse_r_means_missing_not_zero(samples: Path) -> None:
    r = _parse(samples, "bodastage_A4_sparse_r.xml")
    assert r.height == 9
    cell997 = r.filter(pl.col("measured_object").str.ends_with("Gbg-997"))
    assert sorted(cell997.get_column("counter")) == ["attTCHSeizures", "succImmediateAssignProcs", "succTCHSeizures"]
    assert r.filter(pl.col("suspect")).height == 3


def test_dialogic_without_zone_and_with_documentation_ellipsis(samples: Path) -> None:
    result = parse_file(samples / "ran" / "bodastage_pm_dialogic_no_tz_empty_ldn.xml", site="x")
    r = result.records
    assert r.height == 4  # the literal "..." type and value are skipped
    assert _one(r, counter="Provisioned_Bearer_Capacity")["value"] == 360.0
    assert set(r.get_column("measured_object")) == {"NodeName"}  # empty measObjLdn = the element itself
    assert set(r.get_column("period_start")) == {dt.datetime(2000, 3, 1, 14, 59, tzinfo=UTC)}
    reasons = [str(p) for p in result.problems]
    assert any("'...' is not a counter name" in p and "line 18" in p for p in reasons)
    assert any("without a UTC offset" in p and "read in UTC" in p for p in reasons)


def test_dialogic_default_zone(samples: Path) -> None:
    r = _parse(samples, "bodastage_pm_dialogic_no_tz_empty_ldn.xml", default_tz="Asia/Tokyo")
    assert set(r.get_column("period_end")) == {dt.datetime(2000, 3, 1, 6, 0, tzinfo=UTC)}


def test_file_without_measdata_parses_to_nothing(samples: Path) -> None:
    result = parse_file(samples / "ran" / "onap_pmmapper_32435_no_measdata.xml", site="x")
    assert result.records.is_empty()
    assert [p.reason for p in result.problems] == ["the file holds no measInfo: it carries no counters"]


def test_missing_managed_element_is_refused(samples: Path) -> None:
    with pytest.raises(InputError, match="measData has no managedElement") as err:
        parse_file(samples / "ran" / "onap_pmmapper_A_no_managed_element.xml", site="x")
    assert err.value.line == 8
    assert err.value.field == "managedElement"


def test_nokia_omes_is_refused_with_a_pointer(samples: Path) -> None:
    with pytest.raises(InputError, match="Nokia NetAct OMeS layout is not supported"):
        parse_file(samples / "ran" / "bodastage_nokia_omes_pm.xml", site="x")


def test_ves_perf3gpp_with_milliseconds_in_microsecond_fields(samples: Path) -> None:
    result = parse_file(samples / "ran" / "oransc_ranpm_pm_report_ves_perf3gpp.json", site="x")
    r = result.records
    assert r.height == 36
    assert set(r.get_column("source_format")) == {"ves-perf3gpp"}
    assert set(r.get_column("period_end")) == {dt.datetime(2000, 3, 1, 12, 15, tzinfo=UTC)}
    assert set(r.get_column("period_start")) == {dt.datetime(2000, 3, 1, 12, 0, tzinfo=UTC)}
    assert _one(r, measured_object="RncFunction=RF-1,UtranCell=Gbg-997", counter="attTCHSeizures")["value"] == 813.0
    assert r.filter(pl.col("counter") == "succTCHSeizures2").height == 9
    assert r.get_column("suspect").sum() == 8
    assert set(r.get_column("managed_element")) == {"RNC-Gbg-1"}
    assert any("milliseconds" in str(p) for p in result.problems)


def test_ves_measurement_event(samples: Path) -> None:
    r = _parse(samples, "onap_ves_measurement7x.json")
    assert r.height == 59
    assert set(r.get_column("managed_element")) == {"bgtnj05vmh01afx"}
    assert set(r.get_column("granularity_s")) == {300}
    assert set(r.get_column("period_end")) == {dt.datetime(2018, 8, 21, 16, 23, 22, 564759, tzinfo=UTC)}
    free = _one(r, measured_object="memory=RAM", counter="memoryFree")
    assert free["value"] == 6446628 * 1024.0  # KiB → byte
    assert free["unit"] == "byte"
    assert _one(r, measured_object="cpu=all", counter="cpuIdle")["value"] == 99.61
    nic = r.filter(pl.col("measured_object").str.starts_with("nic="))
    assert nic.height == 20
    assert nic.get_column("suspect").all()  # valuesAreSuspect: "true"


def test_oai_o1_stats(samples: Path) -> None:
    seen = dt.datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    r = _parse(samples, "oai_telnet_o1_stats.json", observed_at=seen, interval_s=10.0)
    assert r.height == 6
    assert set(r.get_column("managed_element")) == {"gNB-Eurecom-5GNRBox"}
    assert set(r.get_column("cell")) == {"0"}
    assert set(r.get_column("period_start")) == {seen - dt.timedelta(seconds=10)}
    load = _one(r, counter="RRU.PrbTotDl")
    assert (load["value"], load["unit"]) == (9.0, "%")
    assert _one(r, counter="DRB.UEThpDl", sub_counter="RNTI=6876")["value"] == 3279.0
    ul = r.filter((pl.col("counter") == "DRB.UEThpUl") & pl.col("sub_counter").is_null())
    assert ul.get_column("value").to_list() == [2725.0]
    assert _one(r, counter="RRC.ConnMean")["value"] == 1.0

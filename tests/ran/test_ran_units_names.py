"""Units by source, names (managed element, cell identity, sub-counters) and time parsing."""

from __future__ import annotations

import datetime as dt

import pytest

from collectors.errors import InputError
from collectors.ran import names, times, units


@pytest.mark.parametrize(
    ("system", "counter", "raw", "expected"),
    [
        ("3gpp", "DRB.PdcpSduVolumeDL", 1500.0, (1500.0, "Mbit")),
        ("oran-kpm", "DRB.PdcpSduVolumeDL", 1500.0, (1.5, "Mbit")),  # kbit in E2SM-KPM v3
        ("oai-e2", "DRB.PdcpSduVolumeDL", 1500.0, (1.5, "Mbit")),
        ("3gpp", "RRU.PrbTotDl", 40.0, (40.0, "%")),
        ("oai-e2", "RRU.PrbTotDl", 40.0, (40.0, "PRB")),  # a PRB count there, never a percentage
        ("oai-o1", "RRU.PrbTotDl", 9.0, (9.0, "%")),
        ("3gpp", "DRB.RlcSduDelayDl", 25.0, (2.5, "ms")),  # 0.1 ms units
        ("oai-e2", "DRB.RlcSduDelayDl", 2500.0, (2.5, "ms")),  # µs
        ("3gpp", "DRB.UEThpDl", 9000.0, (9000.0, "kbit/s")),
        ("srsran", "DRB.UEThpDl", 9_000_000.0, (9000.0, "kbit/s")),  # bit/s
        ("ericsson", "pmConsumedEnergy", 83.0, (0.083, "kWh")),  # Wh per ROP
        ("ericsson", "PEE.Energy", 0.2, (0.2, "kWh")),  # inherits TS 28.552
        ("3gpp", "PEE.AvgPower", 800.0, (800.0, "W")),
        ("ves-measurement", "memoryFree", 2.0, (2048.0, "byte")),
        ("3gpp", "pmSomethingVendor", 7.0, (7.0, None)),  # unknown: value as written, no unit
    ],
)
def test_same_counter_different_units_by_source(
    system: str, counter: str, raw: float, expected: tuple[float, str | None]
) -> None:
    value, unit = units.canonical(system, counter, raw)
    assert unit == expected[1]
    assert value == pytest.approx(expected[0])


def test_every_system_converts_into_the_documented_canonical_units() -> None:
    allowed = {"Mbit", "kbit/s", "kWh", "W", "%", "PRB", "ms", "count", "byte", "degC", "V", "A", "dB", "MHz", "1"}
    for system in units.SYSTEMS.values():
        for counter, conv in system.counters.items():
            assert conv.unit in allowed, (system.name, counter, conv.unit)


def test_unknown_system_is_refused() -> None:
    with pytest.raises(InputError, match="unknown unit system"):
        units.canonical("nokia", "X", 1.0)


@pytest.mark.parametrize(
    ("dn", "expected"),
    [
        ("ManagedElement=gnb-tyo1-01", "gnb-tyo1-01"),
        ("SubNetwork=CountryNN,MeContext=MEC-Gbg-1,ManagedElement=RNC-Gbg-1", "RNC-Gbg-1"),
        ("GNODEB-0", "GNODEB-0"),
        ("SubNetwork=1,MeContext=site-9", "site-9"),
        ("DC=a\\,b,ManagedElement=x\\,y", "x\\,y"),
    ],
)
def test_managed_element_name(dn: str, expected: str) -> None:
    assert names.managed_element_name(dn) == expected


@pytest.mark.parametrize(
    ("obj", "cell"),
    [
        ("ManagedElement=g,GNBDUFunction=1,NRCellDU=1", "1"),
        ("ManagedElement=g,GNBCUCPFunction=1,NRCellCU=1", "1"),
        ("ManagedElement=g,GNBCUUPFunction=1,NRCellCU=12", "12"),
        ("ManagedElement=g,GNBCUCPFunction=1,NRCellCU=1,NRCellRelation=2", None),  # a relation, not the cell
        ("ManagedElement=g,ENodeBFunction=1,EUtranCellFDD=1", "EUtranCellFDD=1"),
        ("ManagedElement=g", None),
        ("ManagedElement=g,NodeSupport=1,ConsumedEnergyMeasurement=1", None),
        ("GNBDUFunction=1,NRCellDU=a\\,b", "a\\,b"),
    ],
)
def test_cell_identity_rule(obj: str, cell: str | None) -> None:
    assert names.cell_of(obj) == cell


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("DRB.UEThpDl", ("DRB.UEThpDl", None)),
        ("DRB.UEThpDl.010003e8", ("DRB.UEThpDl", "010003e8")),
        ("RRC.ConnEstabAtt.mo-Signalling", ("RRC.ConnEstabAtt", "mo-Signalling")),
        ("MM.HoExeInterReq.TimeMean", ("MM.HoExeInterReq.TimeMean", None)),
        ("MM.HoExeInterReq.TimeMean.5QI1", ("MM.HoExeInterReq.TimeMean", "5QI1")),
        ("Viavi.PEE.Energy", ("Viavi.PEE.Energy", None)),
        ("pmRrcConnEstabSucc", ("pmRrcConnEstabSucc", None)),
    ],
)
def test_sub_counters(name: str, split: tuple[str, str | None]) -> None:
    assert names.split_counter(name) == split


def test_times() -> None:
    utc = dt.UTC
    assert times.parse_datetime("2023-05-15T07:00:00+0100") == (dt.datetime(2023, 5, 15, 6, 0, tzinfo=utc), True)
    assert times.parse_datetime("2029-03-15T21:00:00.000-05:00:00")[0] == dt.datetime(2029, 3, 16, 2, 0, tzinfo=utc)
    tokyo = times.zone("Asia/Tokyo")
    assert times.parse_datetime("2026-11-20T13:15", tokyo) == (dt.datetime(2026, 11, 20, 4, 15, tzinfo=utc), False)
    assert times.zone("+0530").utcoffset(None) == dt.timedelta(hours=5, minutes=30)
    assert times.parse_duration_s("PT900S") == 900
    assert times.parse_duration_s("PT15M") == 900
    assert times.parse_duration_s("PT1H") == 3600
    assert times.parse_duration_s("P1DT0.5S") == 86400.5
    for bad, why in [
        ("PT0S", "is zero"),
        ("P1M", "years or months"),
        ("some duration", "not an xs:duration"),
        ("PT", "not an xs:duration"),
        ("-PT15M", "is negative"),
    ]:
        with pytest.raises(ValueError, match=why):
            times.parse_duration_s(bad)
    with pytest.raises(ValueError, match="not an ISO 8601"):
        times.parse_datetime("yesterday")
    with pytest.raises(InputError, match="unknown time zone"):
        times.zone("Mars/Olympus")
    when, as_ms = times.epoch_us_to_utc(951912900000)
    assert (when, as_ms) == (dt.datetime(2000, 3, 1, 12, 15, tzinfo=utc), True)
    assert times.epoch_us_to_utc(1534868602564759) == (dt.datetime(2018, 8, 21, 16, 23, 22, 564759, tzinfo=utc), False)


def test_docs_describe_every_unit_system() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "ran.md").read_text()
    for name in units.SYSTEMS:
        assert f"| `{name}` |" in text, name

"""JSON sources: srsRAN metrics (JSON lines), VES event batches, OAI without an operational section."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from collectors.errors import InputError
from collectors.ran.parse import parse_file

UTC = dt.UTC


def _srsran_cells(ts: str, dl_brates: list[float], *, pci: int = 1) -> dict[str, object]:
    """A scheduler report in the shape srsRAN's JSON generator writes (``cells`` → ``cell_metrics``, ``ue_list``)."""
    ues = [
        {"pci": pci, "rnti": 17921 + i, "ue": i, "cqi": 14, "dl_brate": rate, "ul_brate": 169600.0, "dl_mcs": 27}
        | {"dl_nof_ok": 627, "dl_nof_nok": 0, "pusch_snr_db": 27.1, "ta_ns": 297.0, "dl_bs": 3008}
        for i, rate in enumerate(dl_brates)
    ]
    metrics = {
        "pci": pci,
        "average_latency": 29,
        "error_indication_count": 0,
        "late_dl_harqs": 2,
        "pdsch_prbs_used_per_tdd_slot_idx": [12, 4, 3, 15, 16, 7, 6, 0, 0, 0],
        "latency_histogram": [1662, 317, 21, 0, 0, 0, 0, 0, 0, 0],
    }
    return {"timestamp": ts, "cells": [{"cell_metrics": metrics, "ue_list": ues}]}


def _jsonl(path: Path, docs: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def test_srsran_json_lines(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "gnb-tyo1-07.jsonl",
        [
            _srsran_cells("2026-11-20T04:00:01.000", [11312392.0, 2000000.0]),
            {
                "app_resource_usage": {
                    "cpu_usage_percent": 208.7,
                    "memory_usage_mb": 2669.375,
                    "power_consumption_watts": 23.96,
                }
            }
            | {"timestamp": "2026-11-20T04:00:01.500"},
            {
                "du": {"du_high": {"mac": {"dl": [{"pci": 1, "average_latency_us": 70.7}]}}},
                "timestamp": "2026-11-20T04:00:01.6",
            },
            _srsran_cells("2026-11-20T04:00:02.000", [9000000.0]),
        ],
    )
    result = parse_file(path, site="tyo1")
    r = result.records
    assert set(r.get_column("managed_element")) == {"gnb-tyo1-07"}  # from the file name, reported
    assert set(r.get_column("source_format")) == {"srsran"}
    first = r.filter(pl.col("period_end") == dt.datetime(2026, 11, 20, 4, 0, 1, tzinfo=UTC))
    # Reports are 1 s apart, so each covers the second before it.
    assert set(first.get_column("period_start")) == {dt.datetime(2026, 11, 20, 4, 0, 0, tzinfo=UTC)}
    per_ue = first.filter((pl.col("counter") == "DRB.UEThpDl") & pl.col("sub_counter").is_not_null())
    assert per_ue.sort("sub_counter").select("sub_counter", "value", "unit").rows() == [
        ("RNTI=17921", 11312.392, "kbit/s"),  # bit/s in the JSON → kbit/s
        ("RNTI=17922", 2000.0, "kbit/s"),
    ]
    cell = first.filter(pl.col("sub_counter").is_null() & (pl.col("cell") == "1"))
    values = dict(cell.filter(pl.col("vector_index").is_null()).select("counter", "value").iter_rows())
    assert values["DRB.UEThpDl"] == pytest.approx((11312.392 + 2000.0) / 2)
    assert values["RRC.ConnMean"] == 2.0
    assert values["late_dl_harqs"] == 2.0
    prbs = cell.filter(pl.col("counter") == "pdsch_prbs_used_per_tdd_slot_idx").sort("vector_index")
    assert prbs.get_column("value").to_list() == [12, 4, 3, 15, 16, 7, 6, 0, 0, 0]
    assert set(prbs.get_column("unit")) == {"PRB"}
    app = r.filter(pl.col("measured_object") == "app_resource_usage")
    assert dict(app.select("counter", "unit").iter_rows()) == {
        "cpu_usage_percent": "%",
        "memory_usage_mb": "byte",
        "power_consumption_watts": "W",
    }
    assert app.filter(pl.col("counter") == "memory_usage_mb").item(0, "value") == 2669.375 * 1024**2
    reasons = " | ".join(str(p) for p in result.problems)
    assert "do not name the gNB" in reasons
    assert "srsRAN du reports are not mapped" in reasons


def test_srsran_before_24_10_with_epoch_timestamps(tmp_path: Path) -> None:
    report = {
        "timestamp": 1763611200.0,
        "ue_list": [{"ue_container": {"pci": 3, "rnti": 70, "dl_brate": 5e6, "ul_brate": 1e6, "cqi": 12}}],
    }
    path = _jsonl(tmp_path / "m.json", [report])
    result = parse_file(path, site="s", managed_element="gnb-old", interval_s=2.0)
    r = result.records
    cell = r.filter(pl.col("sub_counter").is_null())
    assert dict(cell.select("counter", "value").iter_rows()) == {
        "RRC.ConnMean": 1.0,
        "DRB.UEThpDl": 5000.0,
        "DRB.UEThpUl": 1000.0,
    }
    assert set(r.get_column("cell")) == {"3"}
    assert set(r.get_column("period_end")) == {dt.datetime(2025, 11, 20, 4, 0, tzinfo=UTC)}
    assert set(r.get_column("granularity_s")) == {2}
    assert not any("do not name the gNB" in str(p) for p in result.problems)


def test_srsran_bad_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(
        json.dumps(_srsran_cells("2026-11-20T04:00:01", [1e6]))
        + "\n{not json\n"
        + json.dumps(_srsran_cells("2026-11-20T04:00:02", [2e6]))
        + "\n"
    )
    result = parse_file(path, site="s", managed_element="g")
    assert result.records.get_column("period_end").n_unique() == 2
    assert any(p.line == 2 and "not valid JSON" in p.reason for p in result.problems)


def _ves(event: dict[str, object]) -> dict[str, object]:
    return {"event": event}


def _perf3gpp(last_us: int, values: list[str], *, gran: int = 900) -> dict[str, object]:
    return {
        "commonEventHeader": {
            "domain": "perf3gpp",
            "eventName": "perf3gpp_gnb_pmMeasResult",
            "sourceName": "gnb-1",
            "startEpochMicrosec": last_us - gran * 1_000_000,
            "lastEpochMicrosec": last_us,
        },
        "perf3gppFields": {
            "measDataCollection": {
                "granularityPeriod": gran,
                "measuredEntityDn": "ManagedElement=gnb-1",
                "measInfoList": [
                    {
                        "measTypes": {"sMeasTypesList": ["DRB.PdcpSduVolumeDL", "DRB.UEThpDl"]},
                        "measValuesList": [
                            {
                                "measObjInstId": "ManagedElement=gnb-1,GNBCUUPFunction=1,NRCellCU=4",
                                "suspectFlag": "false",
                                "measResults": [
                                    {"p": 1, "sValue": values[0]},
                                    {"p": 2, "rValue": float(values[1])},
                                    {"p": 3, "sValue": "1"},
                                ],
                            }
                        ],
                    }
                ],
            }
        },
    }


def test_ves_event_list_and_unit_system_override(tmp_path: Path) -> None:
    end = 1763611200_000_000  # 2025-11-20T04:00:00Z in microseconds
    path = tmp_path / "ves.json"
    path.write_text(
        json.dumps({"eventList": [_perf3gpp(end, ["1500", "2000"]), _perf3gpp(end + 900_000_000, ["NIL", "3"])]})
    )
    r = parse_file(path, site="s").records
    vol = r.filter(pl.col("counter") == "DRB.PdcpSduVolumeDL").sort("period_end")
    assert vol.select("value", "unit").rows() == [(1500.0, "Mbit"), (None, "Mbit")]
    assert vol.get_column("period_start").to_list()[0] == dt.datetime(2025, 11, 20, 3, 45, tzinfo=UTC)
    assert set(r.get_column("cell")) == {"4"}
    # The same event from an E2SM-KPM source: volumes are kbit there.
    kpm = parse_file(path, site="s", unit_system="oran-kpm").records
    assert kpm.filter(pl.col("counter") == "DRB.PdcpSduVolumeDL").sort("period_end").item(0, "value") == 1.5


def test_ves_bad_p_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ves.json"
    path.write_text(json.dumps(_ves(_perf3gpp(1763611200_000_000, ["1", "2"]))))
    result = parse_file(path, site="s")
    assert result.records.height == 2
    assert any("p=3 has no measType" in p.reason for p in result.problems)


def test_oai_without_operational_section_yields_nothing_but_says_why(tmp_path: Path) -> None:
    path = tmp_path / "o1.json"
    path.write_text(json.dumps({"o1-config": {"device": {"gnbName": "g"}, "NRCELLDU": {"nrcelldu3gpp:nRPCI": 5}}}))
    result = parse_file(path, site="s", observed_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert result.records.is_empty()
    assert any("no O1-Operational section" in p.reason for p in result.problems)


def test_unknown_unit_system_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "o1.json"
    path.write_text("{}")
    with pytest.raises(InputError, match="unknown unit system 'vendor-x'"):
        parse_file(path, site="s", unit_system="vendor-x")

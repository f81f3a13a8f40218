"""Hourly cell and gNB KPIs with hand-computed expected values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from collectors.ran.parse import parse_file
from pipelines.lib.ran_kpi import cell_kpis_hourly, gnb_kpis_hourly
from pipelines.lib.warehouse import Warehouse
from pipelines.tables.ran import RAN_CELL_HOURLY, RAN_GNB_HOURLY
from tests.ran.pm_xml import simulated_gnb, write

H4 = dt.datetime(2026, 11, 20, 4, 0)
DU = "ManagedElement=gnb-1,GNBDUFunction=1,NRCellDU=1"
CU = "ManagedElement=gnb-1,GNBCUUPFunction=1,NRCellCU=1"
NODE = "ManagedElement=gnb-1"


def rec(
    start: dt.datetime, minutes: int, obj: str, counter: str, value: float | None, unit: str | None, **extra: object
) -> dict[str, object]:
    cell = extra.pop("cell", "1" if "NRCell" in obj else None)
    return {
        "period_start": start,
        "period_end": start + dt.timedelta(minutes=minutes),
        "granularity_s": minutes * 60,
        "site": "tyo1",
        "managed_element": "gnb-1",
        "measured_object": obj,
        "cell": cell,
        "counter": counter,
        "sub_counter": extra.pop("sub_counter", None),
        "vector_index": extra.pop("vector_index", None),
        "value": value,
        "suspect": extra.pop("suspect", False),
        "unit": unit,
        "source_format": "ts32435",
        "source_file": "f.xml",
        "file_sha256": "0" * 64,
        "producer": "test",
    }


def q(n: int) -> dt.datetime:
    """Start of the n-th quarter hour after 04:00."""
    return H4 + dt.timedelta(minutes=15 * n)


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"vector_index": pl.Int32, "sub_counter": pl.String, "cell": pl.String})


def one(df: pl.DataFrame, hour: dt.datetime = H4) -> dict[str, object]:
    rows = df.filter(pl.col("hour") == hour)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_quarter_hours_make_one_hour() -> None:
    rows = []
    for n, (used, vol) in enumerate([(10, 1000), (20, 2000), (30, 3000), (40, 4000)]):
        rows += [
            rec(q(n), 15, DU, "RRU.PrbUsedDl", used, "PRB"),
            rec(q(n), 15, DU, "RRU.PrbAvailDl", 100, "PRB"),
            rec(q(n), 15, CU, "DRB.PdcpSduVolumeDL", vol, "Mbit"),
            rec(q(n), 15, CU, "DRB.PdcpSduVolumeUL", vol / 10, "Mbit"),
            rec(q(n), 15, NODE, "PEE.Energy", 0.1, "kWh"),
            rec(q(n), 15, NODE, "PEE.AvgPower", 400, "W"),
        ]
    cells = cell_kpis_hourly(frame(rows))
    assert cells.columns == list(RAN_CELL_HOURLY.column_names)
    c = one(cells)
    assert (c["periods"], c["covered_s"], c["suspect_periods"]) == (4, 3600.0, 0)
    assert c["prb_util_dl_ratio"] == pytest.approx(100 / 400)
    assert c["prb_util_ul_ratio"] is None
    assert c["volume_dl_mbit"] == pytest.approx(10000)
    assert c["volume_ul_mbit"] == pytest.approx(1000)
    g = one(gnb_kpis_hourly(frame(rows)))
    assert g["cells"] == 1
    assert g["energy_kwh"] == pytest.approx(0.4)
    assert g["power_mean_w"] == pytest.approx(400)
    assert g["volume_mbit"] == pytest.approx(11000)
    # TS 28.554: 11 000 Mbit = 1.1e10 bit over 0.4 kWh = 1.44e6 J.
    assert g["ee_bit_per_j"] == pytest.approx(1.1e10 / 1.44e6)
    assert (g["energy_source"], g["covered_s"]) == ("PEE.Energy", 3600.0)


def test_an_hour_long_period_straddling_two_hours_is_split_by_overlap() -> None:
    start = H4 + dt.timedelta(minutes=30)
    rows = [
        rec(start, 60, CU, "DRB.PdcpSduVolumeDL", 1000, "Mbit"),
        rec(start, 60, DU, "DRB.UEThpDl", 5000, "kbit/s"),
        rec(start, 60, NODE, "PEE.Energy", 0.6, "kWh"),
    ]
    cells = cell_kpis_hourly(frame(rows))
    for hour in (H4, H4 + dt.timedelta(hours=1)):
        c = one(cells, hour)
        assert (c["volume_dl_mbit"], c["covered_s"], c["ue_thp_dl_kbps"], c["periods"]) == (500.0, 1800.0, 5000.0, 1)
    g = one(gnb_kpis_hourly(frame(rows)), H4)
    assert g["energy_kwh"] == pytest.approx(0.3)
    assert g["power_mean_w"] == pytest.approx(0.3 * 3.6e6 / 1800)  # from energy, no PEE.AvgPower


def test_mixed_granularities_weight_by_seconds() -> None:
    rows = [
        rec(q(0), 30, DU, "DRB.UEThpDl", 1000, "kbit/s"),
        rec(q(2), 15, DU, "DRB.UEThpDl", 4000, "kbit/s"),
        rec(q(0), 30, DU, "RRU.PrbTotDl", 20, "%"),
        rec(q(2), 15, DU, "RRU.PrbTotDl", 80, "%"),
    ]
    c = one(cell_kpis_hourly(frame(rows)))
    assert c["ue_thp_dl_kbps"] == pytest.approx((1000 * 1800 + 4000 * 900) / 2700)  # 2000
    assert c["prb_util_dl_ratio"] == pytest.approx((20 * 1800 + 80 * 900) / 2700 / 100)  # 0.4
    assert (c["periods"], c["covered_s"]) == (2, 2700.0)


def test_prb_utilisation_is_a_ratio_of_sums_and_falls_back_to_prbtot() -> None:
    rows = [
        rec(q(0), 15, DU, "RRU.PrbUsedDl", 10, "PRB"),
        rec(q(0), 15, DU, "RRU.PrbAvailDl", 100, "PRB"),
        rec(q(1), 15, DU, "RRU.PrbUsedDl", 90, "PRB"),
        rec(q(1), 15, DU, "RRU.PrbAvailDl", 300, "PRB"),
        rec(q(0), 15, DU, "RRU.PrbTotUl", 30, "%"),
        rec(q(1), 15, DU, "RRU.PrbTotUl", 50, "%"),
        rec(q(0), 15, DU, "RRU.PrbUsedUl", 99, "PRB"),  # no PrbAvailUl: not usable as a ratio
        # OAI's E2 agent writes a PRB count under the %-counter's name: ignored by unit.
        rec(q(1), 15, DU, "RRU.PrbTotDl", 5000, "PRB"),
    ]
    c = one(cell_kpis_hourly(frame(rows)))
    assert c["prb_util_dl_ratio"] == pytest.approx(100 / 400)  # not (0.1 + 0.3) / 2
    assert c["prb_util_ul_ratio"] == pytest.approx(0.4)


def test_rrc_mean_max_and_active_ues() -> None:
    rows = []
    for n, (mean, peak, ues) in enumerate([(4, 5, 1), (6, 9, 3), (5, 7, 2)]):
        rows += [
            rec(q(n), 15, CU.replace("UP", "CP"), "RRC.ConnMean", mean, "count"),
            rec(q(n), 15, CU.replace("UP", "CP"), "RRC.ConnMax", peak, "count"),
            rec(q(n), 15, DU, "DRB.MeanActiveUeDl", ues, "count"),
        ]
    c = one(cell_kpis_hourly(frame(rows)))
    assert (c["rrc_conn_mean"], c["rrc_conn_max"], c["active_ue_dl_mean"]) == (5.0, 9.0, 2.0)
    assert c["covered_s"] == 2700.0


def test_suspect_periods_are_excluded_by_default() -> None:
    rows = [
        rec(q(0), 15, DU, "DRB.UEThpDl", 1000, "kbit/s"),
        rec(q(1), 15, DU, "DRB.UEThpDl", 99999, "kbit/s", suspect=True),
        rec(q(1), 15, CU, "DRB.PdcpSduVolumeDL", 50, "Mbit", suspect=True),
    ]
    c = one(cell_kpis_hourly(frame(rows)))
    assert (c["ue_thp_dl_kbps"], c["volume_dl_mbit"], c["periods"], c["suspect_periods"]) == (1000.0, None, 1, 1)
    assert c["covered_s"] == 900.0
    c = one(cell_kpis_hourly(frame(rows), include_suspect=True))
    assert c["ue_thp_dl_kbps"] == pytest.approx((1000 + 99999) / 2)
    assert c["volume_dl_mbit"] == 50.0


def test_sub_counters_and_vectors_do_not_count_twice() -> None:
    rows = [
        rec(q(0), 15, CU, "DRB.PdcpSduVolumeDL", 100, "Mbit"),
        rec(q(0), 15, CU, "DRB.PdcpSduVolumeDL", 60, "Mbit", sub_counter="01"),
        rec(q(0), 15, CU, "DRB.PdcpSduVolumeDL", 40, "Mbit", sub_counter="02"),
    ]
    assert one(cell_kpis_hourly(frame(rows)))["volume_dl_mbit"] == 100.0


def test_finest_granularity_wins_when_a_counter_is_reported_twice() -> None:
    rows = [rec(q(n), 15, CU, "DRB.PdcpSduVolumeDL", 100, "Mbit") for n in range(4)]
    rows.append(rec(H4, 60, CU, "DRB.PdcpSduVolumeDL", 999, "Mbit"))
    assert one(cell_kpis_hourly(frame(rows)))["volume_dl_mbit"] == 400.0


def test_cumulative_energy_register_is_differenced_and_resets_dropped() -> None:
    meter = "ManagedElement=gnb-1,Equipment=1,FieldReplaceableUnit=BB-1,EnergyMeter=1"
    register = [1.00, 1.05, 1.10, 0.02, 0.07]  # kWh at 04:00, 04:15, 04:30, 04:45 (reset), 05:00
    rows = [rec(q(n - 1), 15, meter, "pmConsumedEnergyAccumulated", v, "kWh") for n, v in enumerate(register)]
    gnb = gnb_kpis_hourly(frame(rows), start=H4, end=H4 + dt.timedelta(hours=1))
    g = one(gnb)
    assert g["energy_kwh"] == pytest.approx(0.15)  # 0.05 + 0.05 + (reset dropped) + 0.05
    assert g["energy_source"] == "pmConsumedEnergyAccumulated"
    assert g["covered_s"] == 2700.0
    assert g["power_mean_w"] == pytest.approx(0.15 * 3.6e6 / 2700)
    assert gnb.height == 1  # hour 03 (context only) is outside the window


@pytest.mark.parametrize(("with_node", "expected"), [(True, 0.09), (False, 0.08)])
def test_node_energy_wins_over_unit_meters(with_node: bool, expected: float) -> None:
    fru = "ManagedElement=gnb-1,Equipment=1,FieldReplaceableUnit="
    rows = [
        rec(q(0), 15, fru + "BB-1,EnergyMeter=1", "pmConsumedEnergy", 0.05, "kWh"),
        rec(q(0), 15, fru + "Radio-1,EnergyMeter=1", "pmConsumedEnergy", 0.03, "kWh"),
    ]
    if with_node:
        rows.append(
            rec(
                q(0),
                15,
                "ManagedElement=gnb-1,NodeSupport=1,ConsumedEnergyMeasurement=1",
                "pmConsumedEnergy",
                0.09,
                "kWh",
            )
        )
    assert one(gnb_kpis_hourly(frame(rows)))["energy_kwh"] == pytest.approx(expected)


def test_pee_energy_takes_precedence_over_vendor_counters() -> None:
    rows = [
        rec(q(0), 15, NODE, "PEE.Energy", 0.2, "kWh"),
        rec(q(0), 15, "ManagedElement=gnb-1,Equipment=1,EnergyMeter=1", "pmConsumedEnergy", 0.5, "kWh"),
    ]
    g = one(gnb_kpis_hourly(frame(rows)))
    assert (g["energy_kwh"], g["energy_source"]) == (0.2, "PEE.Energy")


def test_ericsson_sample_energy_from_its_meters(samples: Path, tmp_path: Path) -> None:
    """The real Ericsson-layout file with its anonymised energy counters given their real names.

    pmCounterNumber530 is Wh per ROP (83 Wh = mean of the 150 power samples, 333 W, × 0.25 h), 530Accumulated
    the register, 532 the 150-sample power vector and 533 the −48 V plant voltage vector (≈ 52 V).
    """
    text = (samples / "ran" / "A20230515.0700_0100-0715_0100_GNODEB-0.xml").read_text()
    for anonymous, real in [
        ("pmCounterNumber530Accumulated", "pmConsumedEnergyAccumulated"),
        ("pmCounterNumber530", "pmConsumedEnergy"),
        ("pmCounterNumber532", "pmPowerConsumption"),
        ("pmCounterNumber533", "pmVoltage"),
    ]:
        text = text.replace(f">{anonymous}<", f">{real}<")
    records = parse_file(write(tmp_path / "ericsson.xml", text), site="sto").records
    energy = records.filter(pl.col("counter") == "pmConsumedEnergy")
    assert set(energy.get_column("unit")) == {"kWh"}
    g = one(gnb_kpis_hourly(records), dt.datetime(2023, 5, 15, 6))
    # The node-level total and the R608 radio are suspect: the four healthy meters count, 83+12+13+22 Wh.
    assert g["energy_kwh"] == pytest.approx(0.130)
    assert g["energy_source"] == "pmConsumedEnergy"
    assert g["covered_s"] == 900.0
    assert g["power_mean_w"] == pytest.approx(0.130 * 3.6e6 / 900)  # 520 W


def test_simulated_gnb_files_end_to_end(tmp_path: Path) -> None:
    frames = []
    for n in range(4):
        end = dt.datetime(2026, 11, 20, 13, 15, tzinfo=dt.timezone(dt.timedelta(hours=9))) + dt.timedelta(
            minutes=15 * n
        )
        path = write(tmp_path / f"A{n}_gnb-tyo1-01.xml", simulated_gnb("gnb-tyo1-01", end.isoformat()))
        frames.append(parse_file(path, site="tyo1").records)
    records = pl.concat(frames)
    cells = cell_kpis_hourly(records)
    assert cells.height == 2
    c1 = cells.filter(pl.col("cell") == "1").row(0, named=True)
    assert c1["hour"] == H4
    assert c1["prb_util_dl_ratio"] == pytest.approx(100 / 273)
    assert c1["prb_util_ul_ratio"] == pytest.approx(50 / 273)
    assert (c1["ue_thp_dl_kbps"], c1["ue_thp_ul_kbps"]) == (9000.0, 1500.0)
    assert (c1["volume_dl_mbit"], c1["volume_ul_mbit"]) == (4800.0, 1200.0)
    assert (c1["rrc_conn_mean"], c1["rrc_conn_max"], c1["active_ue_dl_mean"]) == (5.0, 8.0, 3.0)
    assert (c1["periods"], c1["covered_s"]) == (4, 3600.0)
    g = gnb_kpis_hourly(records).row(0, named=True)
    assert (g["cells"], g["energy_kwh"], g["power_mean_w"]) == (2, pytest.approx(0.8), 800.0)
    assert g["volume_mbit"] == pytest.approx(6000 + 12000)
    assert g["ee_bit_per_j"] == pytest.approx(18000e6 / (0.8 * 3.6e6))  # 6250 bit/J


def test_outputs_write_to_the_warehouse(tmp_path: Path) -> None:
    rows = [rec(q(n), 15, CU, "DRB.PdcpSduVolumeDL", 10, "Mbit") for n in range(4)]
    rows += [rec(q(n), 15, NODE, "PEE.Energy", 0.1, "kWh") for n in range(4)]
    warehouse = Warehouse(tmp_path / "w.duckdb")
    end = H4 + dt.timedelta(hours=1)
    assert warehouse.replace_partition("ran_cell_hourly", cell_kpis_hourly(frame(rows)), H4, end) == 1
    assert warehouse.replace_partition("ran_gnb_hourly", gnb_kpis_hourly(frame(rows)), H4, end) == 1
    back = warehouse.read_partition("ran_gnb_hourly", H4, end)
    assert back.columns == list(RAN_GNB_HOURLY.column_names)
    assert back.item(0, "ee_bit_per_j") == pytest.approx(40e6 / (0.4 * 3.6e6))


def test_empty_input_gives_empty_tables() -> None:
    empty = frame([rec(q(0), 15, DU, "X", 1, None)]).clear()
    assert cell_kpis_hourly(empty).columns == list(RAN_CELL_HOURLY.column_names)
    assert gnb_kpis_hourly(empty).is_empty()

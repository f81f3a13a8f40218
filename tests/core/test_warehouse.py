"""Warehouse writes: one transaction per partition, allow-listed columns, atomic publish."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.lib.warehouse import Warehouse, WarehouseError
from pipelines.tables import table

H = dt.datetime(2026, 11, 20, 13)


def _pue_rows(hour: dt.datetime, pue: float) -> pl.DataFrame:
    cols = table("pue_hourly").column_names
    row = dict.fromkeys(cols)
    row.update({"hour": hour, "site": "tyo1", "facility_kwh": 130.0, "it_kwh": 100.0, "pue": pue})
    return pl.DataFrame([row], schema_overrides={"hour": pl.Datetime("us")}, infer_schema_length=None)


def test_replace_partition_replaces_only_its_range_and_is_idempotent(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.replace_partition("pue_hourly", _pue_rows(H, 1.3), H, H + dt.timedelta(hours=1))
    wh.replace_partition(
        "pue_hourly", _pue_rows(H + dt.timedelta(hours=1), 1.5), H + dt.timedelta(hours=1), H + dt.timedelta(hours=2)
    )
    before = wh.table_hash("pue_hourly")
    wh.replace_partition("pue_hourly", _pue_rows(H, 1.3), H, H + dt.timedelta(hours=1))
    assert wh.table_hash("pue_hourly") == before
    got = wh.query("SELECT hour, pue FROM pue_hourly ORDER BY hour")
    assert got.get_column("pue").to_list() == [1.3, 1.5]


def test_failed_insert_leaves_the_previous_partition(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.replace_partition("pue_hourly", _pue_rows(H, 1.3), H, H + dt.timedelta(hours=1))
    bad = _pue_rows(H, 1.4).with_columns(pl.lit("not a number").alias("pue"))
    with pytest.raises(duckdb.ConversionException):
        wh.replace_partition("pue_hourly", bad, H, H + dt.timedelta(hours=1))
    assert wh.query("SELECT pue FROM pue_hourly").get_column("pue").to_list() == [1.3]


def test_rows_outside_the_partition_and_undeclared_columns_are_refused(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with pytest.raises(WarehouseError, match="outside the partition"):
        wh.replace_partition("pue_hourly", _pue_rows(H, 1.3), H + dt.timedelta(hours=1), H + dt.timedelta(hours=2))
    with pytest.raises(WarehouseError, match="undeclared: colour"):
        wh.replace_partition(
            "pue_hourly", _pue_rows(H, 1.3).with_columns(colour=pl.lit("x")), H, H + dt.timedelta(hours=1)
        )
    with pytest.raises(KeyError, match="not a declared warehouse table"):
        wh.replace_all("users; DROP TABLE x", pl.DataFrame())


def test_publish_swaps_a_complete_read_only_copy(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.replace_partition("pue_hourly", _pue_rows(H, 1.3), H, H + dt.timedelta(hours=1))
    serving = tmp_path / "serving" / "current.duckdb"
    wh.publish(serving, [table("pue_hourly")], views=[("v_pue", "SELECT site, pue FROM pue_hourly")])
    reader = duckdb.connect(str(serving), read_only=True)
    try:
        assert reader.execute("SELECT pue FROM v_pue").fetchall() == [(1.3,)]
        wh.replace_partition("pue_hourly", _pue_rows(H, 1.6), H, H + dt.timedelta(hours=1))
        wh.publish(serving, [table("pue_hourly")])
        # The open reader keeps its snapshot; a new reader sees the new file.
        assert reader.execute("SELECT pue FROM pue_hourly").fetchall() == [(1.3,)]
    finally:
        reader.close()
    fresh = duckdb.connect(str(serving), read_only=True)
    try:
        assert fresh.execute("SELECT pue FROM pue_hourly").fetchall() == [(1.6,)]
    finally:
        fresh.close()
    assert sorted(p.name for p in serving.parent.iterdir()) == ["current.duckdb"]

"""A small serving file built exactly the way the pipeline publishes one, for verifying every panel.

:func:`serving_db` declares every serving table from ``pipelines.tables`` (``Table.ddl()`` through the
warehouse), fills six hours of deterministic synthetic rows for two sites (plus 400 days of daily PUE with
its months and rolling 12 months), and publishes with ``Warehouse.publish`` and the pipeline's serving
views — so the file has the pipeline's storage version, column types, ordering and views. The data is
shaped so that every panel has something to show: a GPU that falls off the bus (Xid 79, lost), a node whose
collector stops, a hot GPU in thermal slowdown, a power-capped one, an uncorrectable ECC error with a
pending row remap, idle and unattributed tenant lines with costs from a JPY tariff, an hour without PUE, a
low-coverage hour, a meter reset, a late GPU file and quarantined files.

The rows live in ``fixture_world`` (the facts), ``fixture_fleet``, ``fixture_energy`` and
``fixture_tenancy``. To verify against a real demo run instead, point :func:`serving_db` at that run's
``serving/current.duckdb`` (one place to change).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.defs.serving.views import SERVING_VIEWS
from pipelines.lib.warehouse import Warehouse
from pipelines.tables import serving_tables
from tests.dashboards import fixture_energy, fixture_fleet, fixture_tenancy
from tests.dashboards.fixture_world import (
    DAILY_DAYS,
    END,
    HOURS,
    LOST_GPU,
    MODEL,
    SILENT_NODE,
    START,
    TENANTS,
    TODAY,
    Rows,
    frame,
    uuid,
)

__all__ = ["END", "HOURS", "LOST_GPU", "MODEL", "SILENT_NODE", "START", "TENANTS", "fill", "rows", "serving_db"]

#: Kept for callers of the first fixture: ``_uuid(site, node, index)``.
_uuid = uuid


def rows() -> Rows:
    """Every serving table's rows by table name (``data_quality`` gathered from the three sources)."""
    out: Rows = {"data_quality": fixture_fleet.gpu_quality()}
    for part in (fixture_fleet.tables(), fixture_energy.tables(), fixture_tenancy.tables()):
        for name, table_rows in part.items():
            out.setdefault(name, []).extend(table_rows)
    return out


def fill(warehouse: Warehouse) -> None:
    """Write the synthetic rows through the warehouse's own partition and dimension writes."""
    data = rows()
    first_day = TODAY - dt.timedelta(days=DAILY_DAYS)
    after_today = TODAY + dt.timedelta(days=1)
    for tbl in serving_tables():
        table_frame = frame(tbl.name, data.get(tbl.name, []))
        if tbl.grain is None:
            warehouse.replace_all(tbl.name, table_frame)
        elif tbl.grain == "hour":
            warehouse.replace_partition(tbl.name, table_frame, START, END)
        elif tbl.grain == "month":
            warehouse.replace_partition(tbl.name, table_frame, first_day.replace(day=1), after_today)
        else:
            warehouse.replace_partition(tbl.name, table_frame, first_day, after_today)


def serving_db(tmp_path: Path) -> Path:
    """Build the warehouse under ``tmp_path``, publish it with the serving views, and return the file's path."""
    warehouse = Warehouse(tmp_path / "warehouse" / "warehouse.duckdb")
    fill(warehouse)
    return warehouse.publish(tmp_path / "serving" / "current.duckdb", serving_tables(), SERVING_VIEWS)

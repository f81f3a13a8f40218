"""Resources: where the data root is, and the warehouse on it.

Both default to ``$AIGRID_ROOT`` (or ``.aigrid/demo`` in the working directory), so ``make ui`` and
``aigrid demo`` look at the same data; a deployment sets the paths in its run config or environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from collectors.landing import LandingZone
from collectors.layout import DataRoot
from pipelines.lib.warehouse import Warehouse

ROOT_ENV = "AIGRID_ROOT"
DEFAULT_ROOT = str(Path(".aigrid") / "demo")
WRITER_POOL = "duckdb_writer"


def default_root() -> str:
    return os.environ.get(ROOT_ENV, DEFAULT_ROOT)


class DataRootResource(dg.ConfigurableResource["DataRootResource"]):
    """The data root: landing zone, inbox, archive, quarantine, configuration, serving file."""

    root: str = default_root()

    @property
    def data_root(self) -> DataRoot:
        return DataRoot.at(self.root)

    @property
    def landing(self) -> LandingZone:
        return LandingZone(self.data_root)


class WarehouseResource(dg.ConfigurableResource["WarehouseResource"]):
    """The single-writer DuckDB warehouse file; every asset that uses it runs in the ``duckdb_writer`` pool."""

    path: str = str(DataRoot.at(default_root()).warehouse_db)

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.path)

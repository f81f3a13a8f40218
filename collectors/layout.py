"""The directory layout of one aigrid data root.

Every path a collector, pipeline or command derives from the root is named here, so that moving a site
to another disk (or, later, to an fsspec URL) is a change of configuration in one place.

    <root>/config/            tenants.yaml, meters.yaml, sites.yaml (operator configuration)
    <root>/landing/<source>/date=YYYY-MM-DD/hour=HH/*.parquet   immutable collector batches
    <root>/inbox/<kind>/[<site>/]...                             file drops (PM XML, meter CSV, VES JSON)
    <root>/archive/<kind>/date=YYYY-MM-DD/...                    originals after ingest
    <root>/quarantine/<kind>/...  (+ <file>.reason.json)         files that could not be read
    <root>/warehouse/warehouse.duckdb                            the single-writer warehouse
    <root>/serving/current.duckdb                                published read-only copy for readers
    <root>/grafana/                                              dashboards and provisioning for this root
    <root>/state/<collector>/                                    collector progress (e.g. backfill resume state)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOURCES = ("gpu", "gpu_health", "ran_pm", "facility", "collector_health")
INBOX_KINDS = ("ran_pm", "meter_csv")


@dataclass(frozen=True)
class DataRoot:
    """Paths under one data root; creating directories is left to the writers that need them."""

    path: Path

    @classmethod
    def at(cls, path: str | Path) -> DataRoot:
        return cls(Path(path).expanduser().resolve())

    @property
    def config(self) -> Path:
        return self.path / "config"

    @property
    def tenants_file(self) -> Path:
        return self.config / "tenants.yaml"

    @property
    def meters_file(self) -> Path:
        return self.config / "meters.yaml"

    @property
    def sites_file(self) -> Path:
        return self.config / "sites.yaml"

    @property
    def landing(self) -> Path:
        return self.path / "landing"

    def inbox(self, kind: str) -> Path:
        return self.path / "inbox" / kind

    def archive(self, kind: str) -> Path:
        return self.path / "archive" / kind

    def quarantine(self, kind: str) -> Path:
        return self.path / "quarantine" / kind

    @property
    def warehouse_db(self) -> Path:
        return self.path / "warehouse" / "warehouse.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.path / "serving" / "current.duckdb"

    @property
    def grafana(self) -> Path:
        return self.path / "grafana"

    def state(self, collector: str) -> Path:
        """Progress files a collector keeps between runs (resume points), one directory per collector."""
        return self.path / "state" / collector

    @property
    def truth(self) -> Path:
        """Ground truth written by the simulator (never read by the pipeline; tests compare against it)."""
        return self.path / "sim" / "truth"

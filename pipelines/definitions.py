"""The aigrid Dagster code location (``workspace.yaml`` points here).

One ``Definitions``: the assets of every domain, their checks, jobs and schedules for hourly and daily
partitions, inbox sensors, the automation sensor that keeps downstream assets fresh, and the two resources
(data root and warehouse). Every asset that writes the warehouse is in the ``duckdb_writer`` pool, which the
instance limits to one at a time (DuckDB allows one writing process).
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs import automation, inbox
from pipelines.defs.common import LANDING_COLLECTOR_HEALTH, LANDING_GPU, LANDING_GPU_HEALTH
from pipelines.defs.dashboards import assets as dashboard_assets
from pipelines.defs.facility import assets as facility_assets
from pipelines.defs.facility import checks as facility_checks
from pipelines.defs.gpu import assets as gpu_assets
from pipelines.defs.gpu import checks as gpu_checks
from pipelines.defs.gpu import health as gpu_health
from pipelines.defs.quality import assets as quality_assets
from pipelines.defs.quality import checks as quality_checks
from pipelines.defs.ran import assets as ran_assets
from pipelines.defs.ran import checks as ran_checks
from pipelines.defs.serving import assets as serving_assets
from pipelines.defs.tenancy import assets as tenancy_assets
from pipelines.defs.tenancy import checks as tenancy_checks
from pipelines.defs.tenancy import rollups as tenancy_rollups
from pipelines.resources import DataRootResource, WarehouseResource, default_root

ASSET_MODULES = (
    gpu_assets,
    gpu_health,
    ran_assets,
    facility_assets,
    tenancy_assets,
    tenancy_rollups,
    quality_assets,
    serving_assets,
    dashboard_assets,
)
CHECK_MODULES = (gpu_checks, ran_checks, facility_checks, tenancy_checks, quality_checks)


def build_definitions(root: str | None = None) -> dg.Definitions:
    """Definitions over the data root ``root`` (default: ``$AIGRID_ROOT`` or ``.aigrid/demo``)."""
    from collectors.layout import DataRoot

    data_root = DataRoot.at(root or default_root())
    landing = [LANDING_GPU, LANDING_GPU_HEALTH, LANDING_COLLECTOR_HEALTH]
    assets = [*landing, *dg.load_assets_from_modules(list(ASSET_MODULES))]
    checks = dg.load_asset_checks_from_modules(list(CHECK_MODULES))
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[*automation.JOBS, *inbox.JOBS],
        schedules=automation.SCHEDULES,
        sensors=[*automation.SENSORS, *inbox.SENSORS],
        resources={
            "site_root": DataRootResource(root=str(data_root.path)),
            "warehouse": WarehouseResource(path=str(data_root.warehouse_db)),
        },
        executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
    )


defs = build_definitions()

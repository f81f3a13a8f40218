"""Serving: the site dimension and the published read-only serving file."""

import dagster as dg
import polars as pl
import yaml

from collectors.errors import ConfigError
from pipelines.defs.common import table_asset
from pipelines.defs.serving.views import SERVING_VIEWS
from pipelines.lib.bulk import tune_session
from pipelines.resources import WRITER_POOL, DataRootResource, WarehouseResource
from pipelines.tables import serving_tables


@table_asset(
    "dim_site",
    group="serving",
    kinds={"yaml", "duckdb"},
    metadata={"source": "config/sites.yaml"},
    automation_condition=None,
)
def dim_site(site_root: DataRootResource, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Sites from ``sites.yaml``: display name, local time zone and PUE target (Japan's benchmark is 1.4)."""
    path = site_root.data_root.sites_file
    try:
        doc = yaml.safe_load(path.read_text())
        sites = [
            {
                "site": str(s["id"]),
                "name": str(s.get("name", s["id"])),
                "timezone": str(s.get("timezone", "UTC")),
                "pue_target": float(s.get("pue_target", 1.4)),
            }
            for s in doc["sites"]
        ]
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"each site needs an 'id' ({exc})", file=path, field="sites") from None
    rows = warehouse.warehouse.replace_all("dim_site", pl.DataFrame(sites))
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(
    name="serving_db",
    group_name="serving",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    deps=[dg.AssetKey(t.name) for t in serving_tables()],
    metadata={"path": "serving/current.duckdb"},
    automation_condition=dg.AutomationCondition.eager(),
    tags={"domain": "serving", "cadence": "on_change"},
)
def serving_db(site_root: DataRootResource, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Publish the serving tables and views into a new DuckDB file and rename it over
    ``serving/current.duckdb``: Grafana, ``aigrid sql`` and analysts read it read-only and never block the
    writer; an open reader keeps its snapshot, new connections see the new file."""
    wh = warehouse.warehouse
    tables = serving_tables()
    with wh.session():
        tune_session(wh)
        target = wh.publish(site_root.data_root.serving_db, tables, SERVING_VIEWS)
        counts = {t.name: int(wh.query(f"SELECT count(*) AS n FROM {t.name}").item()) for t in tables}
    return dg.MaterializeResult(
        metadata={
            "path": dg.PathMetadataValue(str(target)),
            "size_bytes": target.stat().st_size,
            "table_rows": counts,
            "views": [name for name, _ in SERVING_VIEWS],
            "dagster/row_count": sum(counts.values()),
        }
    )

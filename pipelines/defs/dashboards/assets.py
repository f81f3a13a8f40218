"""Dashboards for this data root: generated JSON, Grafana provisioning and a rendered preview."""

import shutil

import dagster as dg

from collectors import atomic
from dashboards.generate import build
from dashboards.preview import preview
from dashboards.render import GENERATED_DIR
from pipelines.resources import DataRootResource

PROVISIONING = GENERATED_DIR.parent / "provisioning"


@dg.asset(
    name="grafana_dashboards",
    group_name="serving",
    kinds={"grafana", "json"},
    deps=["serving_db"],
    metadata={"path": "grafana/"},
    automation_condition=dg.AutomationCondition.eager(),
    tags={"domain": "dashboards", "cadence": "on_change"},
)
def grafana_dashboards(site_root: DataRootResource) -> dg.MaterializeResult[None]:
    """Write the generated dashboards and Grafana provisioning for this data root under ``grafana/``
    (with ``grafana.env`` naming the serving file), and render every dashboard from the fresh serving file to
    ``grafana/preview/index.html`` — what operators will see, without a Grafana server."""
    root = site_root.data_root
    out = root.grafana
    result = build(out / "dashboards")
    for sub in ("datasources", "dashboards"):
        target = out / "provisioning" / sub
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted((PROVISIONING / sub).glob("*.yaml")):
            shutil.copyfile(src, target / src.name)
    atomic.write_text(out / "grafana.env", f"AIGRID_SERVING_PATH={root.serving_db}\n")
    shown = preview(root.serving_db, out / "preview", out / "dashboards")
    empty = sum(1 for d in shown.dashboards for panel in d.panels if panel.note)
    return dg.MaterializeResult(
        metadata={
            "dashboards": len(shown.dashboards),
            "written": len(result.written),
            "preview": dg.PathMetadataValue(str(shown.index)),
            "panels_without_data": empty,
        }
    )

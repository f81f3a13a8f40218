"""Fleet utilisation: which GPUs work, which are held but idle, which are free, and where capacity strands."""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import BUSY_RATIO, HOURLY, IDLE, SILENT_BEFORE, bucket, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-fleet"
HEALTH_UID = "aigrid-gpu-health"
TENANTS_UID = "aigrid-tenants"


def dashboard(v: Vocabulary) -> Dashboard:
    gpus, site = v.gpus(), v.site()
    allocated = f"tenant <> {IDLE}"
    now = Row(
        "Now",
        100,
        (
            Panel(
                1,
                "GPUs now",
                "State of every selected GPU at its latest sample (gpu_last). Busy: utilisation ≥ "
                f"{BUSY_RATIO:.0%}. Allocated: a pod, HPC job or process holds it. Allocated, idle: held but not "
                "busy (stranded). Silent: no sample in the 15 minutes before the end of the time range.",
                Kind.STAT,
                f"""
WITH g AS (
  SELECT *, coalesce(ts >= {SILENT_BEFORE}, false) AS fresh
  FROM gpu_last
  WHERE {gpus}
)
SELECT count(*) AS "GPUs",
       count(*) FILTER (WHERE fresh AND util_ratio >= {BUSY_RATIO}) AS "Busy",
       count(*) FILTER (WHERE fresh AND holder IS NOT NULL) AS "Allocated",
       count(*) FILTER (WHERE fresh AND holder IS NOT NULL AND coalesce(util_ratio, 0) < {BUSY_RATIO})
         AS "Allocated, idle",
       count(*) FILTER (WHERE fresh AND holder IS NULL) AS "Unallocated",
       count(*) FILTER (WHERE NOT fresh) AS "Silent"
FROM g""",
                st.GPU_COUNT,
                w=12,
                h=5,
                overrides=(
                    Override("Allocated, idle", style=st.PROBLEM_COUNT),
                    Override("Silent", style=st.PROBLEM_COUNT),
                ),
                links=(Link("GPU health", HEALTH_UID),),
            ),
            Panel(
                2,
                "Fleet utilisation",
                "Time-weighted GPU utilisation over the time range: GPU-seconds of work (busy_s) over "
                "GPU-seconds observed (sample_s), from gpu_hourly.",
                Kind.GAUGE,
                f'SELECT {ratio("sum(busy_s)", "sum(sample_s)")} AS "Utilisation"\n'
                f"FROM gpu_hourly\nWHERE $__timeFilter(hour) AND {gpus}",
                st.UTIL,
                w=6,
                h=5,
            ),
            Panel(
                3,
                "Stranded capacity",
                "GPU-hours that tenants held but did not use over the time range (allocated minus busy "
                "GPU-hours, tenant_usage_hourly), and their share of all allocated GPU-hours. Filtered by site "
                "only: tenancy is accounted per site and hour.",
                Kind.STAT,
                f"""
SELECT sum(gpu_hours - busy_gpu_hours) FILTER (WHERE {allocated}) AS "Stranded",
       {
                    ratio(
                        f"sum(gpu_hours - busy_gpu_hours) FILTER (WHERE {allocated})",
                        f"sum(gpu_hours) FILTER (WHERE {allocated})",
                    )
                } AS "of allocated"
FROM tenant_usage_hourly
WHERE $__timeFilter(hour) AND {site}""",
                st.GPU_HOURS,
                w=6,
                h=5,
                overrides=(Override("of allocated", style=st.STRANDED),),
                links=(Link("Tenant usage", TENANTS_UID),),
            ),
        ),
    )
    utilisation = Row(
        "Utilisation",
        101,
        (
            Panel(
                4,
                "GPU utilisation: mean and p95",
                "Mean: time-weighted utilisation of all selected GPUs per interval. p95: 95th percentile of "
                "the GPUs' hourly mean utilisation in the interval (a GPU-hour view; the exact p95 of samples "
                "needs the utilisation histogram table).",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       {ratio("sum(busy_s)", "sum(sample_s)")} AS "mean",
       quantile_cont(util_mean_ratio, 0.95) AS "p95"
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}
GROUP BY 1
ORDER BY 1""",
                st.UTIL,
                w=12,
                h=8,
                min_interval=HOURLY,
                legend_calcs=("mean", "min", "max"),
            ),
            Panel(
                5,
                "Utilisation by node",
                "Time-weighted utilisation of each node's GPUs per interval; red rows are nodes that "
                "hold GPUs without using them. Click a cell to open the node in GPU health.",
                Kind.HEATMAP,
                f"""
SELECT {bucket("hour")} AS time,
       node,
       {ratio("sum(busy_s)", "sum(sample_s)")} AS util
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.UTIL,
                w=12,
                h=8,
                series_name="${__field.labels.node}",
                min_interval=HOURLY,
                links=(Link("Node health", HEALTH_UID, "var-node=${__field.labels.node}", data=True),),
            ),
        ),
    )
    capacity = Row(
        "Capacity",
        102,
        (
            Panel(
                6,
                "GPUs busy, held idle and free",
                "Mean number of GPUs per interval that were busy, allocated but not busy (stranded), and "
                "unallocated (the 'idle' tenant line); stacked, they add up to the GPUs accounted for.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       sum(busy_gpu_hours) / count(DISTINCT hour) AS "busy",
       sum(gpu_hours - busy_gpu_hours) FILTER (WHERE {allocated}) / count(DISTINCT hour) AS "allocated, not busy",
       sum(gpu_hours) FILTER (WHERE tenant = {IDLE}) / count(DISTINCT hour) AS "unallocated"
FROM tenant_usage_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1
ORDER BY 1""",
                st.GPUS,
                w=12,
                h=8,
                stacking="normal",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
                overrides=(
                    Override("busy", color="green"),
                    Override("allocated, not busy", color="orange"),
                    Override("unallocated", color="text"),
                ),
            ),
            Panel(
                7,
                "GPU-hours allocated vs busy",
                "GPU-hours over the time range: accounted for (capacity), allocated to tenants, and busy "
                "(allocated × utilisation), from tenant_usage_hourly.",
                Kind.STAT,
                f"""
SELECT sum(gpu_hours) AS "Capacity",
       sum(gpu_hours) FILTER (WHERE {allocated}) AS "Allocated",
       sum(busy_gpu_hours) AS "Busy"
FROM tenant_usage_hourly
WHERE $__timeFilter(hour) AND {site}""",
                st.GPU_HOURS,
                w=6,
                h=8,
            ),
            Panel(
                8,
                "Stranded share of allocated GPU-hours",
                "Per site and interval: allocated but not busy GPU-hours over allocated GPU-hours.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       site,
       {
                    ratio(
                        f"sum(gpu_hours - busy_gpu_hours) FILTER (WHERE {allocated})",
                        f"sum(gpu_hours) FILTER (WHERE {allocated})",
                    )
                } AS stranded
FROM tenant_usage_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.STRANDED,
                w=6,
                h=8,
                series_name="${__field.labels.site}",
                min_interval=HOURLY,
            ),
            Panel(
                9,
                "Least-utilised nodes",
                "The 15 nodes with the lowest time-weighted GPU utilisation over the time range.",
                Kind.BARGAUGE,
                f"""
SELECT node, {ratio("sum(busy_s)", "sum(sample_s)")} AS utilisation
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}
GROUP BY node
ORDER BY 2 ASC NULLS LAST, 1
LIMIT 15""",
                st.UTIL,
                w=12,
                h=8,
                per_row=True,
            ),
            Panel(
                10,
                "Inventory",
                "GPUs and nodes per site and model as seen in telemetry (dim_gpu), with the newest sample.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", model AS "Model", count(*) AS "GPUs", count(DISTINCT node) AS "Nodes",
       max(last_seen) AS "Last seen"
FROM dim_gpu
WHERE {gpus}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.GPU_COUNT,
                w=12,
                h=8,
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("Model", style=st.TEXT),
                    Override("Last seen", style=st.TIMESTAMP),
                ),
            ),
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · Fleet utilisation",
        description="Busy, allocated and idle GPUs now and over time, per node, and the capacity tenants strand.",
        folder=OPERATIONS,
        variables=("site", "cluster", "node", "gpu"),
        rows=(now, utilisation, capacity),
        tags=("fleet",),
    )

"""Fleet utilisation: which GPUs work, which are held but idle, which are free, and where capacity strands."""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import (
    BUSY_RATIO,
    DAILY,
    HOURLY,
    IDLE,
    SILENT_BEFORE,
    bucket,
    hist_percentiles,
    ratio,
    util_source,
)
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
            Panel(
                11,
                "Sites now",
                "Per site as of its newest GPU sample (v_fleet_now; independent of the time range): GPUs known "
                "to the inventory, reporting in the last 5 minutes, silent and held; mean utilisation, GPU "
                "power and the hottest GPU; the latest hour's RAN and idle shares and PUE; critical health "
                "events in the last 24 hours.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", as_of AS "As of", gpus_known AS "GPUs", gpus_reporting AS "Reporting",
       gpus_silent AS "Silent", gpus_held AS "Held", util_ratio AS "Utilisation", gpu_power_kw AS "GPU power",
       temp_max_c AS "Hottest", ran_share_ratio AS "RAN share", idle_share_ratio AS "Idle share", pue AS "PUE",
       critical_events_24h AS "Critical events 24 h"
FROM v_fleet_now
WHERE {site}
ORDER BY site""",
                st.GPU_COUNT,
                w=24,
                h=5,
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("As of", style=st.TIMESTAMP),
                    Override("Silent", style=st.PROBLEM_COUNT),
                    Override("Utilisation", style=st.UTIL),
                    Override("GPU power", style=st.POWER_KW),
                    Override("Hottest", style=st.TEMP),
                    Override("RAN share", style=st.SHARE),
                    Override("Idle share", style=st.SHARE),
                    Override("PUE", style=st.PUE),
                    Override("Critical events 24 h", style=st.PROBLEM_COUNT),
                ),
                links=(Link("GPU health", HEALTH_UID),),
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
                "Mean: time-weighted utilisation of all selected GPUs per interval (busy over observed GPU "
                "time). p95: the exact 95th percentile of their utilisation samples in the interval, from the "
                "summed 101-bin histograms (nearest rank, as quantile_disc over the samples). Intervals of 6 "
                "hours or more read the daily histograms of the UTC days in the range.",
                Kind.TIMESERIES,
                f"""
WITH src AS ({util_source("busy_s, sample_s, util_hist", gpus)}
), {hist_percentiles("src", "time", {"p95": 0.95})}, mean AS (
  SELECT time, {ratio("sum(busy_s)", "sum(sample_s)")} AS mean FROM src GROUP BY time
)
SELECT mean.time, mean.mean AS "mean", pct.p95 AS "p95"
FROM mean
LEFT JOIN pct USING (time)
ORDER BY 1""",
                st.UTIL,
                w=12,
                h=8,
                min_interval=HOURLY,
                legend_calcs=("mean", "min", "max"),
                overrides=(Override("p95", dashed=True),),
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
    nodes = Row(
        "Nodes",
        103,
        (
            Panel(
                12,
                "Node utilisation percentiles",
                "Per node over the UTC days the time range touches (node_daily): GPUs, GPU-hours observed, "
                "time-weighted mean and the exact p50, p95 and p99 of its GPUs' utilisation samples (summed "
                "daily histograms), energy and peak temperature. Lowest p95 first: nodes that never run hot are "
                "the ones to consolidate.",
                Kind.TABLE,
                f"""
WITH d AS (
  SELECT site, node, gpus, gpu_hours, util_mean_ratio, util_hist, energy_kwh, temp_max_c
  FROM node_daily
  WHERE $__timeFilter(day) AND {v.nodes()}
), {hist_percentiles("d", "site, node", {"p50": 0.5, "p95": 0.95, "p99": 0.99})}
SELECT d.site AS "Site", d.node AS "Node", max(d.gpus) AS "GPUs", sum(d.gpu_hours) AS "GPU-hours",
       {ratio("sum(d.util_mean_ratio * d.gpu_hours)", "sum(d.gpu_hours)")} AS "Mean",
       any_value(pct.p50) AS "p50", any_value(pct.p95) AS "p95", any_value(pct.p99) AS "p99",
       sum(d.energy_kwh) AS "Energy", max(d.temp_max_c) AS "Peak temperature"
FROM d
LEFT JOIN pct USING (site, node)
GROUP BY d.site, d.node
ORDER BY 7 ASC NULLS FIRST, 1, 2
LIMIT 50""",
                st.UTIL,
                w=14,
                h=8,
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("Node", style=st.TEXT),
                    Override("GPUs", style=st.GPU_COUNT),
                    Override("GPU-hours", style=st.GPU_HOURS),
                    Override("Energy", style=st.ENERGY_KWH),
                    Override("Peak temperature", style=st.TEMP),
                ),
                links=(Link("Node health", HEALTH_UID),),
            ),
            Panel(
                13,
                "Daily p95 utilisation by node",
                "The exact 95th percentile of each node's utilisation samples per UTC day (v_node_day), last 30 "
                "days: a node that stays red even at its p95 holds GPUs it hardly uses.",
                Kind.HEATMAP,
                f"""
SELECT CAST(day AS TIMESTAMP) AS time, node, util_p95_ratio AS p95
FROM v_node_day
WHERE $__timeFilter(day) AND {v.nodes()}
ORDER BY 1, 2""",
                st.UTIL,
                w=10,
                h=8,
                series_name="${__field.labels.node}",
                min_interval=DAILY,
                time_from="30d",
            ),
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · Fleet utilisation",
        description="Busy, allocated and idle GPUs now and over time, per node, and the capacity tenants strand.",
        folder=OPERATIONS,
        variables=("site", "cluster", "node", "gpu"),
        rows=(now, utilisation, capacity, nodes),
        tags=("fleet",),
    )

"""AI-RAN: how the GPUs split between the RAN and AI tenants, cell load against RAN GPU load, RAN bit/J.

The RAN is a tenant of kind ``ran`` in dim_tenant; cell KPIs come from ran_cell_hourly (weighted by the
seconds of each hour that non-suspect PM periods covered) and energy efficiency from ran_gnb_hourly as
Σ data volume / Σ energy (TS 28.554), never a mean of per-hour ratios.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import HOURLY, bucket, per_hour_by, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-airan"
TENANTS_UID = "aigrid-tenants"

#: bit/J from Mbit and kWh: Mbit × 1e6 bit / (kWh × 3.6e6 J).
_EE = ratio("sum(volume_mbit) * 1e6", "sum(energy_kwh) * 3.6e6")
_KIND = "coalesce(t.kind, 'unattributed')"
_USAGE = "tenant_usage_hourly AS u LEFT JOIN dim_tenant AS t ON t.tenant = u.tenant"


def _weighted(column: str) -> str:
    """A cell KPI averaged over cell-hours, weighted by the seconds its PM periods covered."""
    return ratio(f"sum({column} * covered_s)", f"sum(covered_s) FILTER (WHERE {column} IS NOT NULL)")


def dashboard(v: Vocabulary) -> Dashboard:
    site = v.site()
    usage_scope = f"$__timeFilter(u.hour) AND {v.site('u.')}"
    share = Row(
        "GPU share",
        400,
        (
            Panel(
                1,
                "GPU time: RAN vs AI vs idle",
                "Share of the GPUs accounted for per interval, by tenant kind: the operator's RAN, AI tenants, "
                "idle (unallocated) and unattributed (held, no tenant rule matched).",
                Kind.TIMESERIES,
                per_hour_by(_KIND, "kind", "u.gpu_hours", "gpus", _USAGE, usage_scope),
                st.SHARE,
                w=16,
                h=8,
                stacking="percent",
                series_name="${__field.labels.kind}",
                min_interval=HOURLY,
                legend_calcs=("mean",),
                links=(Link("Tenant usage", TENANTS_UID),),
            ),
            Panel(
                2,
                "GPU share over the range",
                "GPU-hours by tenant kind over the time range, as shares of all GPU-hours accounted for.",
                Kind.STAT,
                f"""
SELECT {ratio(f"sum(u.gpu_hours) FILTER (WHERE {_KIND} = 'ran')", "sum(u.gpu_hours)")} AS "RAN",
       {ratio(f"sum(u.gpu_hours) FILTER (WHERE {_KIND} = 'ai')", "sum(u.gpu_hours)")} AS "AI",
       {ratio(f"sum(u.gpu_hours) FILTER (WHERE {_KIND} = 'idle')", "sum(u.gpu_hours)")} AS "Idle",
       {ratio(f"sum(u.gpu_hours) FILTER (WHERE {_KIND} = 'unattributed')", "sum(u.gpu_hours)")} AS "Unattributed"
FROM {_USAGE}
WHERE {usage_scope}""",
                st.SHARE,
                w=8,
                h=8,
            ),
        ),
    )
    cells = Row(
        "Cells",
        401,
        (
            Panel(
                3,
                "PRB utilisation",
                "Downlink and uplink PRB utilisation per site and interval, averaged over cells and weighted "
                "by the seconds non-suspect PM periods covered.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, site,
       {_weighted("prb_util_dl_ratio")} AS "DL",
       {_weighted("prb_util_ul_ratio")} AS "UL"
FROM ran_cell_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.UTIL.but(steps=st.SHARE.steps),
                w=12,
                h=8,
                series_name="${__field.name} ${__field.labels.site}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
            Panel(
                4,
                "Mean UE throughput",
                "Mean downlink and uplink UE throughput per site and interval (cells weighted by coverage).",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, site,
       {_weighted("ue_thp_dl_kbps")} AS "DL",
       {_weighted("ue_thp_ul_kbps")} AS "UL"
FROM ran_cell_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.THROUGHPUT_KBPS,
                w=12,
                h=8,
                series_name="${__field.name} ${__field.labels.site}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
        ),
    )
    energy = Row(
        "RAN load and energy",
        402,
        (
            Panel(
                5,
                "RAN GPU load vs cell load",
                "Left: mean busy GPUs of the RAN tenant per interval. Right: downlink PRB utilisation of the "
                "cells. On a shared AI-RAN GPU, RAN GPU load should follow cell load; a gap is GPU capacity "
                "the RAN holds for nothing.",
                Kind.TIMESERIES,
                f"""
WITH gpu AS (
  SELECT {bucket("u.hour")} AS time, sum(u.busy_gpu_hours) / count(DISTINCT u.hour) AS busy
  FROM {_USAGE}
  WHERE {usage_scope} AND t.kind = 'ran'
  GROUP BY 1
), cell AS (
  SELECT {bucket("hour")} AS time, {_weighted("prb_util_dl_ratio")} AS prb
  FROM ran_cell_hourly
  WHERE $__timeFilter(hour) AND {site}
  GROUP BY 1
)
SELECT coalesce(gpu.time, cell.time) AS time, gpu.busy AS "RAN busy GPUs", cell.prb AS "DL PRB utilisation"
FROM gpu
FULL JOIN cell ON cell.time = gpu.time
ORDER BY 1""",
                st.GPUS,
                w=12,
                h=8,
                min_interval=HOURLY,
                overrides=(Override("DL PRB utilisation", style=st.UTIL.but(steps=st.SHARE.steps), right_axis=True),),
                legend_calcs=("mean", "max"),
            ),
            Panel(
                6,
                "RAN energy efficiency",
                "Data volume over energy of the gNBs per site and interval (TS 28.554 EE, bit/J): Σ PDCP volume "
                "/ Σ PEE energy, never a mean of hourly ratios.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, site, {_EE} AS ee
FROM ran_gnb_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.BIT_PER_J,
                w=12,
                h=8,
                series_name="${__field.labels.site}",
                min_interval=HOURLY,
                legend_calcs=("mean", "min"),
            ),
            Panel(
                7,
                "RAN over the range",
                "Energy efficiency, data volume and energy of the selected sites' gNBs over the time range.",
                Kind.STAT,
                f"""
SELECT {_EE} AS "Energy efficiency",
       sum(volume_mbit) * 1e6 AS "Data volume",
       sum(energy_kwh) AS "Energy"
FROM ran_gnb_hourly
WHERE $__timeFilter(hour) AND {site}""",
                st.BIT_PER_J,
                w=8,
                h=8,
                overrides=(
                    Override("Data volume", style=st.DATA_BITS),
                    Override("Energy", style=st.ENERGY_KWH),
                ),
            ),
            Panel(
                8,
                "Busiest cells",
                "The 20 cells with the highest downlink PRB utilisation over the time range, with throughput, "
                "data volume and the share of the range their PM periods covered.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", managed_element AS "gNB", cell AS "Cell",
       {_weighted("prb_util_dl_ratio")} AS "DL PRB",
       {_weighted("prb_util_ul_ratio")} AS "UL PRB",
       {_weighted("ue_thp_dl_kbps")} AS "DL throughput",
       (sum(volume_dl_mbit) + sum(volume_ul_mbit)) * 1e6 AS "Volume",
       {ratio("sum(covered_s)", "count(*) * 3600.0")} AS "Coverage"
FROM ran_cell_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2, 3
ORDER BY 4 DESC NULLS LAST, 1, 2, 3
LIMIT 20""",
                st.UTIL.but(steps=st.SHARE.steps),
                w=16,
                h=8,
                sort_by="DL PRB",
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("gNB", style=st.TEXT),
                    Override("Cell", style=st.TEXT),
                    Override("DL throughput", style=st.THROUGHPUT_KBPS),
                    Override("Volume", style=st.DATA_BITS),
                    Override("Coverage", style=st.COVERAGE),
                ),
            ),
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · AI-RAN",
        description="GPU share between the RAN and AI tenants, cell PRB utilisation and throughput, RAN GPU load "
        "against cell load, and RAN energy efficiency in bit/J.",
        folder=OPERATIONS,
        variables=("site",),
        rows=(share, cells, energy),
        tags=("ai-ran", "ran"),
    )

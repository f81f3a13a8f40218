"""AI-RAN: how the GPUs split between the RAN and AI tenants, cell load against RAN GPU load, RAN bit/J.

The split is ai_ran_share_hourly (GPU-hours, busy GPU-hours and GPU energy of the RAN, the AI tenants,
unattributed use and idle capacity per site and hour, with the cells' load beside them); cell KPIs come from
ran_cell_hourly (weighted by the seconds of each hour that non-suspect PM periods covered) and energy
efficiency from ran_gnb_hourly as Σ data volume / Σ energy (TS 28.554), never a mean of per-hour ratios.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import HOURLY, bucket, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-airan"
TENANTS_UID = "aigrid-tenants"

#: bit/J from Mbit and kWh: Mbit × 1e6 bit / (kWh × 3.6e6 J).
_EE = ratio("sum(volume_mbit) * 1e6", "sum(energy_kwh) * 3.6e6")
#: bit per joule of the GPU energy the RAN held (ai_ran_share_hourly): the cells' DL + UL volume over it.
_GPU_EE = ratio("sum(volume_dl_mbit + volume_ul_mbit) * 1e6", "sum(ran_energy_kwh) * 3.6e6")


#: One colour per workload on every AI-RAN panel.
_WORKLOAD_COLOURS = (
    Override("RAN", color="purple"),
    Override("AI", color="green"),
    Override("unattributed", color="orange"),
    Override("idle", color="text"),
)


def _per_hour(column: str) -> str:
    """GPU-hours (or kWh) per hour of the interval: mean GPUs (or kW) over the sites' hours."""
    return ratio(f"sum({column})", "count(DISTINCT hour)")


def _weighted(column: str) -> str:
    """A cell KPI averaged over cell-hours, weighted by the seconds its PM periods covered."""
    return ratio(f"sum({column} * covered_s)", f"sum(covered_s) FILTER (WHERE {column} IS NOT NULL)")


def dashboard(v: Vocabulary) -> Dashboard:
    site = v.site()
    share = Row(
        "GPU share",
        400,
        (
            Panel(
                1,
                "GPU time: RAN vs AI vs idle",
                "Mean GPUs per interval by workload (ai_ran_share_hourly), stacked to 100 %: the operator's RAN, "
                "AI tenants, unattributed (held, no tenant rule matched) and idle (nobody held the GPU).",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       {_per_hour("ran_gpu_hours")} AS "RAN",
       {_per_hour("ai_gpu_hours")} AS "AI",
       {_per_hour("unattributed_gpu_hours")} AS "unattributed",
       {_per_hour("idle_gpu_hours")} AS "idle"
FROM ai_ran_share_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1
ORDER BY 1""",
                st.GPUS,
                w=16,
                h=8,
                stacking="percent",
                min_interval=HOURLY,
                legend_calcs=("mean",),
                overrides=_WORKLOAD_COLOURS,
                links=(Link("Tenant usage", TENANTS_UID),),
            ),
            Panel(
                2,
                "GPU share over the range",
                "GPU-hours by workload over the time range as shares of all metered GPU-hours, and the RAN's "
                "share of the allocated GPU-hours (RAN + AI + unattributed).",
                Kind.STAT,
                f"""
SELECT {ratio("sum(ran_gpu_hours)", "sum(gpu_hours)")} AS "RAN",
       {ratio("sum(ai_gpu_hours)", "sum(gpu_hours)")} AS "AI",
       {ratio("sum(idle_gpu_hours)", "sum(gpu_hours)")} AS "Idle",
       {ratio("sum(unattributed_gpu_hours)", "sum(gpu_hours)")} AS "Unattributed",
       {ratio("sum(ran_gpu_hours)", "sum(ran_gpu_hours + ai_gpu_hours + unattributed_gpu_hours)")}
         AS "RAN of allocated"
FROM ai_ran_share_hourly
WHERE $__timeFilter(hour) AND {site}""",
                st.SHARE,
                w=8,
                h=8,
            ),
            Panel(
                9,
                "GPU power by workload",
                "Mean GPU power per interval by workload (metered GPU energy split by who held the GPU), "
                "stacked: what the RAN, the AI tenants and idle GPUs draw.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       {_per_hour("ran_energy_kwh")} AS "RAN",
       {_per_hour("ai_energy_kwh")} AS "AI",
       {_per_hour("unattributed_energy_kwh")} AS "unattributed",
       {_per_hour("idle_energy_kwh")} AS "idle"
FROM ai_ran_share_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1
ORDER BY 1""",
                st.POWER_KW,
                w=12,
                h=8,
                stacking="normal",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
                overrides=_WORKLOAD_COLOURS,
            ),
            Panel(
                10,
                "RAN GPU utilisation vs cell load",
                "Per interval: busy over held GPU-hours of the RAN's GPUs, against the downlink and uplink PRB "
                "utilisation of the cells (ai_ran_share_hourly, cells weighted by the site's cell count). On a "
                "shared AI-RAN GPU the two should move together; RAN GPUs busy while cells are quiet are L1 "
                "overhead, GPUs idle under load are a sizing problem.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       {ratio("sum(ran_busy_gpu_hours)", "sum(ran_gpu_hours)")} AS "RAN GPU utilisation",
       {ratio("sum(prb_util_dl_ratio * cells)", "sum(cells) FILTER (WHERE prb_util_dl_ratio IS NOT NULL)")}
         AS "DL PRB utilisation",
       {ratio("sum(prb_util_ul_ratio * cells)", "sum(cells) FILTER (WHERE prb_util_ul_ratio IS NOT NULL)")}
         AS "UL PRB utilisation"
FROM ai_ran_share_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1
ORDER BY 1""",
                st.UTIL.but(steps=st.SHARE.steps),
                w=12,
                h=8,
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
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
                "Left: mean busy GPUs of the RAN per interval (ai_ran_share_hourly). Right: downlink PRB "
                "utilisation of the cells (ran_cell_hourly, weighted by covered time). On a shared AI-RAN GPU, "
                "RAN GPU load should follow cell load; a gap is GPU capacity the RAN holds for nothing.",
                Kind.TIMESERIES,
                f"""
WITH gpu AS (
  SELECT {bucket("hour")} AS time, {_per_hour("ran_busy_gpu_hours")} AS busy
  FROM ai_ran_share_hourly
  WHERE $__timeFilter(hour) AND {site}
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
                "Data volume per joule per interval, summed over the selected sites (TS 28.554 EE, bit/J, "
                "always Σ volume / Σ energy, never a mean of hourly ratios). Radio: PDCP volume over the gNBs' "
                "PEE energy (ran_gnb_hourly). RAN GPUs: the cells' volume over the GPU energy the RAN held "
                "(ai_ran_share_hourly), what AI-RAN adds to the radio's own bill.",
                Kind.TIMESERIES,
                f"""
WITH radio AS (
  SELECT {bucket("hour")} AS time, {_EE} AS ee
  FROM ran_gnb_hourly
  WHERE $__timeFilter(hour) AND {site}
  GROUP BY 1
), gpu AS (
  SELECT {bucket("hour")} AS time, {_GPU_EE} AS ee
  FROM ai_ran_share_hourly
  WHERE $__timeFilter(hour) AND {site}
  GROUP BY 1
)
SELECT coalesce(radio.time, gpu.time) AS time, radio.ee AS "radio (gNB energy)", gpu.ee AS "RAN GPUs"
FROM radio
FULL JOIN gpu ON gpu.time = radio.time
ORDER BY 1""",
                st.BIT_PER_J,
                w=12,
                h=8,
                min_interval=HOURLY,
                legend_calcs=("mean", "min"),
            ),
            Panel(
                7,
                "RAN over the range",
                "Over the time range for the selected sites: energy efficiency of the radio (gNB energy) and of "
                "the RAN's GPUs (bit per GPU joule), data volume, gNB energy and the GPU energy the RAN held.",
                Kind.STAT,
                f"""
WITH radio AS (
  SELECT {_EE} AS ee, sum(volume_mbit) * 1e6 AS volume, sum(energy_kwh) AS energy
  FROM ran_gnb_hourly
  WHERE $__timeFilter(hour) AND {site}
), gpu AS (
  SELECT {_GPU_EE} AS ee, sum(ran_energy_kwh) AS energy
  FROM ai_ran_share_hourly
  WHERE $__timeFilter(hour) AND {site}
)
SELECT radio.ee AS "Radio efficiency", gpu.ee AS "RAN GPU efficiency", radio.volume AS "Data volume",
       radio.energy AS "gNB energy", gpu.energy AS "RAN GPU energy"
FROM radio, gpu""",
                st.BIT_PER_J,
                w=24,
                h=4,
                overrides=(
                    Override("Data volume", style=st.DATA_BITS),
                    Override("gNB energy", style=st.ENERGY_KWH),
                    Override("RAN GPU energy", style=st.ENERGY_KWH),
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
                w=24,
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

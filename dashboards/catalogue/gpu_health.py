"""GPU health: temperatures, throttling, GPUs that fell silent and nodes whose collectors stopped.

"Lost" and "silent" are judged against the end of the time range (not the wall clock), so looking at a
past day shows what was lost on that day. Xid, ECC and row-remapping panels need the GPU health events
table (see docs/dashboards.md).
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import HEALTH
from dashboards.catalogue.sql import HOURLY, RANGE_END, RANGE_START, SILENT_BEFORE, bucket, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-gpu-health"
FLEET_UID = "aigrid-fleet"
PIPELINE_UID = "aigrid-pipeline"

#: Per-node time series show at most this many nodes (thousands of lines help nobody).
TOP_NODES = 20
#: Fell silent during the range: seen in it, but not in its last 15 minutes.
_LOST = f"last_seen >= {RANGE_START} AND last_seen < {SILENT_BEFORE}"


def dashboard(v: Vocabulary) -> Dashboard:
    gpus = v.gpus()
    now = Row(
        "Now",
        500,
        (
            Panel(
                1,
                "Health now",
                "Lost GPUs: seen during the time range but without a sample in its last 15 minutes (dim_gpu). "
                "Silent nodes: no GPU of the node reported in those 15 minutes (gpu_last). Hot GPUs: latest "
                "temperature at or above the 83 °C slowdown warning.",
                Kind.STAT,
                f"""
SELECT (SELECT count(*) FROM dim_gpu WHERE {gpus} AND {_LOST}) AS "Lost GPUs",
       (SELECT count(*) FROM (
          SELECT node FROM gpu_last WHERE {gpus}
          GROUP BY site, node
          HAVING max(ts) >= {RANGE_START} AND max(ts) < {SILENT_BEFORE})) AS "Silent nodes",
       (SELECT count(*) FROM gpu_last WHERE {gpus} AND ts >= {SILENT_BEFORE} AND temp_c >= 83) AS "Hot GPUs\"""",
                st.PROBLEM_COUNT,
                w=12,
                h=5,
                links=(Link("Pipeline health", PIPELINE_UID),),
            ),
            Panel(
                2,
                "Hottest GPU now",
                "Highest latest temperature among the selected GPUs that reported in the last 15 minutes of the "
                "time range.",
                Kind.GAUGE,
                f'SELECT max(temp_c) AS "Temperature"\nFROM gpu_last\nWHERE {gpus} AND ts >= {SILENT_BEFORE}',
                st.TEMP,
                w=6,
                h=5,
            ),
            Panel(
                3,
                "Throttled time",
                "Share of observed GPU time with a power or thermal clocks-event reason active over the time "
                "range (gpu_hourly.throttled_s / sample_s).",
                Kind.STAT,
                f'SELECT {ratio("sum(throttled_s)", "sum(sample_s)")} AS "Throttled"\n'
                f"FROM gpu_hourly\nWHERE $__timeFilter(hour) AND {gpus}",
                st.THROTTLED,
                w=6,
                h=5,
            ),
        ),
    )
    thermal = Row(
        "Temperature and throttling",
        501,
        (
            Panel(
                4,
                "Hottest GPU per node",
                f"Maximum GPU temperature per node and interval for the {TOP_NODES} nodes that ran hottest in "
                "the time range; dashed lines at 83 °C (slowdown warning) and 87 °C (DCGM dashboard red).",
                Kind.TIMESERIES,
                f"""
WITH top AS (
  SELECT node FROM gpu_hourly
  WHERE $__timeFilter(hour) AND {gpus}
  GROUP BY node
  ORDER BY max(temp_max_c) DESC NULLS LAST, node
  LIMIT {TOP_NODES}
)
SELECT {bucket("hour")} AS time, node, max(temp_max_c) AS temp
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus} AND node IN (SELECT node FROM top)
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.TEMP,
                w=12,
                h=8,
                series_name="${__field.labels.node}",
                min_interval=HOURLY,
                threshold_lines=True,
                legend_calcs=("max",),
            ),
            Panel(
                5,
                "Throttled share per node",
                "Share of each node's observed GPU time with a power or thermal clocks-event reason active, for "
                f"the {TOP_NODES} nodes throttled longest in the time range.",
                Kind.TIMESERIES,
                f"""
WITH top AS (
  SELECT node FROM gpu_hourly
  WHERE $__timeFilter(hour) AND {gpus}
  GROUP BY node
  ORDER BY sum(throttled_s) DESC NULLS LAST, node
  LIMIT {TOP_NODES}
)
SELECT {bucket("hour")} AS time, node, {ratio("sum(throttled_s)", "sum(sample_s)")} AS throttled
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus} AND node IN (SELECT node FROM top)
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.THROTTLED,
                w=12,
                h=8,
                series_name="${__field.labels.node}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
            Panel(
                6,
                "GPUs to watch",
                "Per GPU over the time range, hottest first: maximum temperature, throttled share, peak power, "
                "mean utilisation and the share of the range its samples covered.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", node AS "Node", any_value(gpu_index) AS "GPU", gpu_uuid AS "UUID",
       any_value(model) AS "Model",
       max(temp_max_c) AS "Max temperature",
       {ratio("sum(throttled_s)", "sum(sample_s)")} AS "Throttled",
       max(power_max_w) AS "Peak power",
       {ratio("sum(busy_s)", "sum(sample_s)")} AS "Utilisation",
       {ratio("sum(sample_s)", f"date_diff('second', {RANGE_START}, {RANGE_END})")} AS "Coverage"
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}
GROUP BY site, node, gpu_uuid
ORDER BY 6 DESC NULLS LAST, 1, 2, 3
LIMIT 50""",
                st.TEMP,
                w=24,
                h=9,
                sort_by="Max temperature",
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("Node", style=st.TEXT),
                    Override("GPU", style=st.GPU_COUNT),
                    Override("UUID", style=st.TEXT),
                    Override("Model", style=st.TEXT),
                    Override("Throttled", style=st.THROTTLED),
                    Override("Peak power", style=st.POWER_KW.but(unit="watt", decimals=0)),
                    Override("Utilisation", style=st.UTIL),
                    Override("Coverage", style=st.COVERAGE),
                ),
            ),
        ),
    )
    lost = Row(
        "Lost GPUs and silent nodes",
        502,
        (
            Panel(
                7,
                "Lost GPUs",
                "GPUs seen during the time range that have not reported in its last 15 minutes: fallen off the "
                "bus, driver down, or the node's collector stopped.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", node AS "Node", gpu_index AS "GPU", gpu_uuid AS "UUID", model AS "Model",
       last_seen AS "Last seen", date_diff('second', last_seen, {RANGE_END}) AS "Silent for"
FROM dim_gpu
WHERE {gpus} AND {_LOST}
ORDER BY last_seen, site, node, gpu_index""",
                st.TEXT,
                w=12,
                h=8,
                sort_by="Silent for",
                no_value="None: every GPU seen in the range is reporting",
                overrides=(
                    Override("GPU", style=st.GPU_COUNT),
                    Override("Last seen", style=st.TIMESTAMP),
                    Override("Silent for", style=st.DURATION_S),
                ),
                links=(Link("Fleet", FLEET_UID),),
            ),
            Panel(
                8,
                "Silent nodes",
                "Nodes none of whose GPUs reported in the last 15 minutes of the time range (but did earlier in "
                "it): the collector on the node has stopped or cannot reach the landing zone.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", node AS "Node", count(*) AS "GPUs", max(ts) AS "Last sample",
       date_diff('second', max(ts), {RANGE_END}) AS "Silent for"
FROM gpu_last
WHERE {gpus}
GROUP BY site, node
HAVING max(ts) >= {RANGE_START} AND max(ts) < {SILENT_BEFORE}
ORDER BY 4, 1, 2""",
                st.TEXT,
                w=12,
                h=8,
                sort_by="Silent for",
                no_value="None: every node's collector is reporting",
                overrides=(
                    Override("GPUs", style=st.GPU_COUNT),
                    Override("Last sample", style=st.TIMESTAMP),
                    Override("Silent for", style=st.DURATION_S),
                ),
            ),
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · GPU health",
        description="GPU temperatures and throttling, GPUs lost during the time range and nodes whose collectors "
        "fell silent.",
        folder=HEALTH,
        variables=("site", "cluster", "node", "gpu"),
        rows=(now, thermal, lost),
        tags=("health", "gpu"),
    )

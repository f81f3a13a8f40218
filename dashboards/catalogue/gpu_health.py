"""GPU health: temperatures and throttling by reason, Xid errors, ECC and row remapping, lost GPUs, silent nodes.

"Lost" and "silent" are judged against the end of the time range (not the wall clock), so looking at a
past day shows what was lost on that day. Events come from gpu_health_events: what the collectors reported
(Xid errors, lost GPUs, reset required) and what the pipeline derived from the samples (uncorrectable ECC
errors, row remapping pending or failed, telemetry gaps). The event tables are exception lists: empty is
the healthy state, and they say so.
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


def _lost(alias: str = "") -> str:
    """Fell silent during the range: seen in it, but not in its last 15 minutes."""
    return f"{alias}last_seen >= {RANGE_START} AND {alias}last_seen < {SILENT_BEFORE}"


#: gpu_hourly's seconds per clocks-event reason (NVML bits 0x4, 0x20, 0x40, 0x8, 0x80) and their labels.
_REASONS = (
    ("throttle_sw_power_s", "power cap"),
    ("throttle_sw_thermal_s", "thermal (SW)"),
    ("throttle_hw_thermal_s", "thermal (HW)"),
    ("throttle_hw_slowdown_s", "HW slowdown"),
    ("throttle_power_brake_s", "power brake"),
)


def _share(seconds: str) -> str:
    """Share of the observed GPU time that ``seconds`` covers."""
    return ratio(f"sum({seconds})", "sum(sample_s)")


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
SELECT (SELECT count(*) FROM dim_gpu WHERE {gpus} AND {_lost()}) AS "Lost GPUs",
       (SELECT count(*) FROM (
          SELECT node FROM gpu_last WHERE {gpus}
          GROUP BY site, node
          HAVING max(ts) >= {RANGE_START} AND max(ts) < {SILENT_BEFORE})) AS "Silent nodes",
       (SELECT count(*) FROM gpu_last WHERE {gpus} AND ts >= {SILENT_BEFORE} AND temp_c >= 83) AS "Hot GPUs\"""",
                st.PROBLEM_COUNT,
                w=8,
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
                w=4,
                h=5,
            ),
            Panel(
                9,
                "Health events in the range",
                "Counted from gpu_health_events over the time range: Xid errors the drivers reported, "
                "uncorrectable ECC errors (new errors on the counter), row remappings pending or failed, GPUs "
                "that fell off the bus (NVML: GPU is lost), GPUs that need a reset, and telemetry gaps "
                "(a GPU silent for more than three sampling intervals, then back).",
                Kind.STAT,
                f"""
SELECT count(*) FILTER (WHERE event LIKE 'xid%') AS "Xid errors",
       CAST(coalesce(sum(code) FILTER (WHERE event = 'ecc_uncorrected'), 0) AS BIGINT) AS "Uncorrectable ECC",
       count(*) FILTER (WHERE event IN ('remap_pending', 'remap_failed')) AS "Row remapping",
       count(*) FILTER (WHERE event = 'gpu_lost') AS "GPU lost",
       count(*) FILTER (WHERE event = 'reset_required') AS "Reset required",
       count(*) FILTER (WHERE event = 'telemetry_gap') AS "Telemetry gaps"
FROM gpu_health_events
WHERE $__timeFilter(ts) AND {gpus}""",
                st.ERROR_COUNT,
                w=12,
                h=5,
                overrides=(
                    Override("Row remapping", style=st.PROBLEM_COUNT),
                    Override("Telemetry gaps", style=st.PROBLEM_COUNT),
                ),
            ),
        ),
    )
    thermal = Row(
        "Temperature and throttling",
        501,
        (
            Panel(
                3,
                "Throttled time by reason",
                "Share of observed GPU time (sample_s) over the time range with a clocks-event reason active: "
                "any power or thermal reason, then each one (software power cap, software and hardware thermal "
                "slowdown, hardware slowdown, external power brake). Reasons overlap, so they need not add up.",
                Kind.STAT,
                f"""
SELECT {_share("throttled_s")} AS "Throttled",
       {", ".join(f'{_share(col)} AS "{name}"' for col, name in _REASONS)}
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}""",
                st.THROTTLED,
                w=24,
                h=4,
            ),
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
                w=8,
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
SELECT {bucket("hour")} AS time, node, {_share("throttled_s")} AS throttled
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus} AND node IN (SELECT node FROM top)
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.THROTTLED,
                w=8,
                h=8,
                series_name="${__field.labels.node}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
            Panel(
                10,
                "Throttling by reason",
                "Share of the selected GPUs' observed time per interval that each clocks-event reason was "
                "active: power cap means the workload wants more power than the limit, thermal and hardware "
                "slowdown point at cooling, the power brake at the facility.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       {", ".join(f'{_share(col)} AS "{name}"' for col, name in _REASONS)}
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}
GROUP BY 1
ORDER BY 1""",
                st.THROTTLED,
                w=8,
                h=8,
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
            Panel(
                6,
                "GPUs to watch",
                "Per GPU over the time range, hottest first: maximum temperature, throttled share, Xid errors, "
                "peak power, mean utilisation and the share of the range its samples covered.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", node AS "Node", any_value(gpu_index) AS "GPU", gpu_uuid AS "UUID",
       any_value(model) AS "Model",
       max(temp_max_c) AS "Max temperature",
       {_share("throttled_s")} AS "Throttled",
       CAST(sum(xid_events) AS BIGINT) AS "Xid errors",
       max(power_max_w) AS "Peak power",
       {_share("busy_s")} AS "Utilisation",
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
                    Override("Xid errors", style=st.ERROR_COUNT),
                    Override("Peak power", style=st.POWER_KW.but(unit="watt", decimals=0)),
                    Override("Utilisation", style=st.UTIL),
                    Override("Coverage", style=st.COVERAGE),
                ),
            ),
        ),
    )
    errors = Row(
        "Errors",
        503,
        (
            Panel(
                11,
                "Xid errors per site",
                "Xid errors the drivers reported per site and interval (gpu_hourly.xid_events): zero is the "
                "healthy line; any Xid is worth a look (79: fallen off the bus, 48: double-bit ECC, 94/95: "
                "contained/uncontained ECC, 13/31/43: application faults).",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, site, CAST(sum(xid_events) AS BIGINT) AS xid
FROM gpu_hourly
WHERE $__timeFilter(hour) AND {gpus}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.ERROR_COUNT,
                w=12,
                h=8,
                bars=True,
                series_name="${__field.labels.site}",
                min_interval=HOURLY,
                legend_calcs=("sum", "max"),
            ),
            Panel(
                12,
                "Health events per interval",
                "Health events per kind and interval (gpu_health_events), stacked: reported Xid errors, lost "
                "GPUs and resets, derived ECC errors, row remapping and telemetry gaps.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("ts")} AS time, event, count(*) AS events
FROM gpu_health_events
WHERE $__timeFilter(ts) AND {gpus}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.ERROR_COUNT,
                w=12,
                h=8,
                bars=True,
                stacking="normal",
                series_name="${__field.labels.event}",
                min_interval=HOURLY,
                legend_calcs=("sum",),
                no_value="No health events in the time range",
            ),
            Panel(
                13,
                "Xid errors by GPU",
                "Per GPU and Xid code over the time range (v_gpu_health): how often, when last, and the "
                "driver's message. A GPU repeating one code is a hardware suspect; many GPUs with the same "
                "code point at a driver or workload.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", node AS "Node", gpu_index AS "GPU", gpu_uuid AS "UUID", code AS "Xid",
       count(*) AS "Events", max(ts) AS "Last seen", arg_max(message, ts) AS "Last message"
FROM v_gpu_health
WHERE $__timeFilter(ts) AND {gpus} AND event LIKE 'xid%'
GROUP BY site, node, gpu_index, gpu_uuid, code
ORDER BY 6 DESC, 7 DESC, 1, 2, 3
LIMIT 100""",
                st.TEXT,
                w=12,
                h=8,
                sort_by="Events",
                no_value="None: no Xid errors in the time range",
                overrides=(
                    Override("GPU", style=st.GPU_COUNT),
                    Override("Xid", style=st.GPU_COUNT),
                    Override("Events", style=st.ERROR_COUNT),
                    Override("Last seen", style=st.TIMESTAMP),
                ),
            ),
            Panel(
                14,
                "ECC errors and row remapping",
                "Per GPU over the time range (v_gpu_health): new uncorrectable ECC errors, row remappings that "
                "became pending (the GPU needs a reset to use the spare row) or failed (the GPU needs service), "
                "and the latest of these events.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", node AS "Node", gpu_index AS "GPU", gpu_uuid AS "UUID",
       CAST(coalesce(sum(code) FILTER (WHERE event = 'ecc_uncorrected'), 0) AS BIGINT) AS "Uncorrectable ECC",
       count(*) FILTER (WHERE event = 'remap_pending') AS "Remap pending",
       count(*) FILTER (WHERE event = 'remap_failed') AS "Remap failed",
       max(ts) AS "Last event", arg_max(message, ts) AS "Last message"
FROM v_gpu_health
WHERE $__timeFilter(ts) AND {gpus} AND event IN ('ecc_uncorrected', 'remap_pending', 'remap_failed')
GROUP BY site, node, gpu_index, gpu_uuid
ORDER BY 7 DESC, 5 DESC, 8 DESC, 1, 2, 3
LIMIT 100""",
                st.TEXT,
                w=12,
                h=8,
                sort_by="Uncorrectable ECC",
                no_value="None: no uncorrectable ECC errors or row remapping in the time range",
                overrides=(
                    Override("GPU", style=st.GPU_COUNT),
                    Override("Uncorrectable ECC", style=st.ERROR_COUNT),
                    Override("Remap pending", style=st.PROBLEM_COUNT),
                    Override("Remap failed", style=st.ERROR_COUNT),
                    Override("Last event", style=st.TIMESTAMP),
                ),
            ),
            Panel(
                15,
                "Health event log",
                "The latest 200 health events in the time range, newest first (v_gpu_health): when, which GPU "
                "(and MIG instance), what, its code (Xid number, NVML error, new ECC errors or gap seconds), "
                "severity and message, and whether a collector reported it or the pipeline derived it.",
                Kind.TABLE,
                f"""
SELECT ts AS "Time", site AS "Site", node AS "Node", gpu_index AS "GPU", gpu_uuid AS "UUID",
       gpu_instance_id AS "MIG instance", event AS "Event", code AS "Code", severity AS "Severity",
       message AS "Message", origin AS "Origin"
FROM v_gpu_health
WHERE $__timeFilter(ts) AND {gpus}
ORDER BY ts DESC, site, node, gpu_index, event
LIMIT 200""",
                st.TEXT,
                w=24,
                h=9,
                no_value="No health events in the time range",
                overrides=(
                    Override("Time", style=st.TIMESTAMP),
                    Override("GPU", style=st.GPU_COUNT),
                    Override("MIG instance", style=st.GPU_COUNT),
                    Override("Code", style=st.GPU_COUNT),
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
                "bus, driver down, or the node's collector stopped. The last critical health event of the GPU "
                "says which (none: most likely the collector).",
                Kind.TABLE,
                f"""
SELECT d.site AS "Site", d.node AS "Node", d.gpu_index AS "GPU", d.gpu_uuid AS "UUID", d.model AS "Model",
       d.last_seen AS "Last seen", date_diff('second', d.last_seen, {RANGE_END}) AS "Silent for",
       (SELECT arg_max(e.event || coalesce(': ' || e.message, ''), e.ts)
        FROM gpu_health_events AS e
        WHERE e.site = d.site AND e.gpu_uuid = d.gpu_uuid AND e.severity = 'critical'
          AND e.ts <= {RANGE_END}) AS "Last critical event"
FROM dim_gpu AS d
WHERE {v.gpus("d.")} AND {_lost("d.")}
ORDER BY d.last_seen, d.site, d.node, d.gpu_index""",
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
        description="GPU temperatures and throttling by reason, Xid errors, ECC errors and row remapping, GPUs "
        "lost during the time range and nodes whose collectors fell silent.",
        folder=HEALTH,
        variables=("site", "cluster", "node", "gpu"),
        rows=(now, thermal, errors, lost),
        tags=("health", "gpu"),
    )

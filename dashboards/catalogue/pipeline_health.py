"""Pipeline health: how fresh and how complete each source is, and which files came late or were quarantined.

Freshness is "data up to" per published table and site against the end of the time range. Completeness
comes from the data_quality mart: per site, source and hour, the GPUs, cells or meters expected (seen in
the day before) against those reporting, the share of their time the data covers, and the landed files
that were late or quarantined. Collector failures come from collector_health_hourly: which collector could
not reach which target, and the error it saw.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import HEALTH
from dashboards.catalogue.sql import HOURLY, RANGE_END, bucket, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-pipeline"
HEALTH_UID = "aigrid-gpu-health"

#: (source label, table, time column, grain): the published tables whose freshness is reported.
SOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("GPU samples", "gpu_last", "ts", "INTERVAL 0 SECOND"),
    ("GPU hourly", "gpu_hourly", "hour", "INTERVAL 1 HOUR"),
    ("RAN cells", "ran_cell_hourly", "hour", "INTERVAL 1 HOUR"),
    ("RAN gNB energy", "ran_gnb_hourly", "hour", "INTERVAL 1 HOUR"),
    ("Facility meters", "meter_energy_hourly", "hour", "INTERVAL 1 HOUR"),
    ("PUE hourly", "pue_hourly", "hour", "INTERVAL 1 HOUR"),
    ("PUE daily", "pue_daily", "day", "INTERVAL 1 DAY"),
    ("Tenancy hourly", "tenant_usage_hourly", "hour", "INTERVAL 1 HOUR"),
    ("Tenancy daily", "tenant_usage_daily", "day", "INTERVAL 1 DAY"),
    ("Tenancy monthly", "tenant_usage_monthly", "month", "INTERVAL 1 MONTH"),
    ("AI-RAN share", "ai_ran_share_hourly", "hour", "INTERVAL 1 HOUR"),
    ("GPU daily", "gpu_daily", "day", "INTERVAL 1 DAY"),
    ("Node daily", "node_daily", "day", "INTERVAL 1 DAY"),
    ("PUE monthly", "pue_monthly", "month", "INTERVAL 1 MONTH"),
    ("PUE rolling 12 months", "pue_rolling_12m", "month", "INTERVAL 1 MONTH"),
    ("Data quality", "data_quality", "hour", "INTERVAL 1 HOUR"),
)
#: data_quality's sources as operators name them.
_SOURCE = (
    "CASE source WHEN 'gpu' THEN 'GPUs' WHEN 'ran_pm' THEN 'RAN cells' WHEN 'facility' THEN 'facility meters' "
    "ELSE source END"
)
#: Time coverage pooled over sites and hours: each row's share weighted by the units it expected.
_TIME_COVERAGE = ratio(
    "sum(time_coverage_ratio * expected)", "sum(expected) FILTER (WHERE time_coverage_ratio IS NOT NULL)"
)


def _freshness(site: str) -> str:
    branches = "\n  UNION ALL\n  ".join(
        f"SELECT '{label}' AS source, '{table}' AS tbl, site, "
        f"CAST(max({col}) AS TIMESTAMP) + {grain} AS latest, "
        f"count(*) FILTER (WHERE $__timeFilter({col})) AS rows_in_range FROM {table} GROUP BY site"
        for label, table, col, grain in SOURCES
    )
    return f"""
WITH sources AS (
  {branches}
)
SELECT source AS "Source", tbl AS "Table", site AS "Site", latest AS "Data up to",
       greatest(date_diff('second', latest, {RANGE_END}), 0) AS "Lag", rows_in_range AS "Rows in range"
FROM sources
WHERE {site} AND site <> 'unknown'
ORDER BY 1, 3"""


def dashboard(v: Vocabulary) -> Dashboard:
    site = v.site()
    freshness = Row(
        "Freshness",
        600,
        (
            Panel(
                1,
                "Freshness per source",
                "Per published table and site: the end of the newest period it holds (a daily or monthly "
                "table's current period counts as held), how far that lags the end of the time range (hourly "
                "sources are published with a lag for late data), and its rows in the range. Quarantined files "
                "of no known site (site 'unknown') are counted in the panels below, not here.",
                Kind.TABLE,
                _freshness(site),
                st.TEXT,
                w=16,
                h=10,
                sort_by="Lag",
                overrides=(
                    Override("Data up to", style=st.TIMESTAMP),
                    Override("Lag", style=st.DURATION_S),
                    Override("Rows in range", style=st.GPU_COUNT),
                ),
            ),
            Panel(
                5,
                "Arrival delay per source",
                "Per source and interval: how long after its hour ended the hour's latest file landed "
                "(data_quality.max_delay_s, worst site). Delays beyond the schedule's lag make files late: "
                "their rows miss the first rollup of the hour and arrive with a re-run.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, {_SOURCE} AS source, max(max_delay_s) AS delay
FROM data_quality
WHERE $__timeFilter(hour) AND {site} AND max_delay_s IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.DURATION_S,
                w=8,
                h=10,
                series_name="${__field.labels.source}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
        ),
    )
    coverage = Row(
        "Coverage",
        601,
        (
            Panel(
                3,
                "Gaps over the range",
                "Unit-hours a GPU, cell or meter was expected but silent (data_quality), landed files that came "
                "late or were quarantined (unreadable: see quarantine/ and its reason files), incomplete "
                "GPU-hours (under 59 minutes of samples), PUE hours flagged low coverage, meter-hours with "
                "energy spread across a gap, and meter register resets or wraps.",
                Kind.STAT,
                f"""
SELECT (SELECT CAST(coalesce(sum(missing), 0) AS BIGINT) FROM data_quality
         WHERE $__timeFilter(hour) AND {site}) AS "Missing unit-hours",
       (SELECT CAST(coalesce(sum(late_files), 0) AS BIGINT) FROM data_quality
         WHERE $__timeFilter(hour) AND {site}) AS "Late files",
       (SELECT CAST(coalesce(sum(quarantined_files), 0) AS BIGINT) FROM data_quality
         WHERE $__timeFilter(hour) AND {site}) AS "Quarantined files",
       (SELECT count(*) FROM gpu_hourly WHERE $__timeFilter(hour) AND {site} AND sample_s < 3540)
         AS "Incomplete GPU-hours",
       (SELECT count(*) FROM pue_hourly WHERE $__timeFilter(hour) AND {site} AND low_coverage)
         AS "Low-coverage PUE hours",
       (SELECT count(*) FROM meter_energy_hourly WHERE $__timeFilter(hour) AND {site} AND interpolated)
         AS "Interpolated meter-hours",
       (SELECT CAST(coalesce(sum(resets), 0) AS BIGINT) FROM meter_energy_hourly
         WHERE $__timeFilter(hour) AND {site}) AS "Register resets\"""",
                st.PROBLEM_COUNT,
                w=24,
                h=4,
                overrides=(Override("Quarantined files", style=st.ERROR_COUNT),),
            ),
            Panel(
                2,
                "Coverage per source",
                "Share of the expected GPUs', cells' and meters' time their data covers per interval "
                "(data_quality: GPU sample seconds, non-suspect PM periods, measured meter time, over expected "
                "units × the hour; expected = seen in the day before), and the share of each hour PUE had both "
                "sides measured (pue_hourly).",
                Kind.TIMESERIES,
                f"""
WITH coverage AS (
  SELECT {bucket("hour")} AS time, {_SOURCE} AS source, {_TIME_COVERAGE} AS coverage
  FROM data_quality
  WHERE $__timeFilter(hour) AND {site} AND expected > 0
  GROUP BY 1, 2
  UNION ALL
  SELECT {bucket("hour")}, 'PUE (both sides)', avg(coverage_ratio)
  FROM pue_hourly
  WHERE $__timeFilter(hour) AND {site}
  GROUP BY 1
)
SELECT time, source, coverage FROM coverage
ORDER BY 1, 2""",
                st.COVERAGE,
                w=12,
                h=8,
                series_name="${__field.labels.source}",
                min_interval=HOURLY,
                legend_calcs=("mean", "min"),
                links=(Link("GPU health", HEALTH_UID),),
            ),
            Panel(
                7,
                "Late and quarantined files",
                "Landed files per source and interval that came after the schedule's lag (late) or could not be "
                "read at all and were quarantined with a reason (data_quality; a quarantined file counts in the "
                "hour it arrived, and under site 'unknown' when its site could not be told).",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, {_SOURCE} AS source,
       CAST(sum(late_files) AS BIGINT) AS "late",
       CAST(sum(quarantined_files) AS BIGINT) AS "quarantined"
FROM data_quality
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.PROBLEM_COUNT,
                w=12,
                h=8,
                bars=True,
                stacking="normal",
                series_name="${__field.name} ${__field.labels.source}",
                min_interval=HOURLY,
                legend_calcs=("sum",),
            ),
            Panel(
                6,
                "Reporting per source and site",
                "Per site and source over the time range (data_quality): units expected (GPUs, cells, meters "
                "seen in the day before), the fewest reporting in any hour, unit-hours silent, the reporting "
                "share, the time coverage, files landed, late and quarantined, and the longest arrival delay.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", {_SOURCE} AS "Source", any_value(unit) AS "Unit",
       max(expected) AS "Expected", min(reporting) AS "Fewest reporting",
       CAST(sum(missing) AS BIGINT) AS "Missing unit-hours",
       {ratio("sum(reporting)", "sum(expected)")} AS "Reporting",
       {_TIME_COVERAGE} AS "Time coverage",
       CAST(sum(files) AS BIGINT) AS "Files",
       CAST(sum(late_files) AS BIGINT) AS "Late files",
       CAST(sum(quarantined_files) AS BIGINT) AS "Quarantined files",
       max(max_delay_s) AS "Longest delay"
FROM data_quality
WHERE $__timeFilter(hour) AND {site}
GROUP BY site, source
ORDER BY 6 DESC, 11 DESC, 1, 2""",
                st.GPU_COUNT,
                w=24,
                h=8,
                sort_by="Missing unit-hours",
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("Source", style=st.TEXT),
                    Override("Unit", style=st.TEXT),
                    Override("Missing unit-hours", style=st.PROBLEM_COUNT),
                    Override("Reporting", style=st.COVERAGE),
                    Override("Time coverage", style=st.COVERAGE),
                    Override("Late files", style=st.PROBLEM_COUNT),
                    Override("Quarantined files", style=st.ERROR_COUNT),
                    Override("Longest delay", style=st.DURATION_S),
                ),
            ),
            Panel(
                8,
                "Silent sources",
                "Per site and source, the last hour of the time range in data_quality when it still had units "
                "expected but silent: GPUs whose collector or node is down, cells without PM files, meters "
                "that stopped answering. Empty when every expected unit reported.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", {_SOURCE} AS "Source", unit AS "Unit", hour AS "Hour", expected AS "Expected",
       reporting AS "Reporting", missing AS "Missing"
FROM data_quality
WHERE $__timeFilter(hour) AND {site} AND expected > 0
QUALIFY hour = max(hour) OVER (PARTITION BY site, source) AND missing > 0
ORDER BY missing DESC, site, source""",
                st.GPU_COUNT,
                w=12,
                h=8,
                sort_by="Missing",
                no_value="None: every expected GPU, cell and meter reported in the last hour",
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("Source", style=st.TEXT),
                    Override("Unit", style=st.TEXT),
                    Override("Hour", style=st.TIMESTAMP),
                    Override("Missing", style=st.PROBLEM_COUNT),
                ),
                links=(Link("GPU health", HEALTH_UID),),
            ),
            Panel(
                4,
                "Meters",
                "Per facility meter over the time range: role, energy, mean coverage, interpolated hours and "
                "register resets (meter_energy_hourly).",
                Kind.TABLE,
                f"""
SELECT site AS "Site", meter_id AS "Meter", any_value(role) AS "Role", sum(energy_kwh) AS "Energy",
       avg(coverage_ratio) AS "Coverage",
       count(*) FILTER (WHERE interpolated) AS "Interpolated hours",
       CAST(coalesce(sum(resets), 0) AS BIGINT) AS "Resets"
FROM meter_energy_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 5 ASC NULLS FIRST, 1, 2""",
                st.TEXT,
                w=12,
                h=8,
                sort_by="Resets",
                overrides=(
                    Override("Energy", style=st.ENERGY_KWH),
                    Override("Coverage", style=st.COVERAGE),
                    Override("Interpolated hours", style=st.PROBLEM_COUNT),
                    Override("Resets", style=st.PROBLEM_COUNT),
                ),
            ),
            Panel(
                9,
                "Quarantined files",
                "Inbox files that could not be read, newest first (quarantined_file): when each arrived, its "
                "site and source, what was wrong and where, and where it is held under the data root. Fix the "
                "file and drop it into the inbox again; the next sweep reads it. Empty when every file was read.",
                Kind.TABLE,
                f"""
SELECT coalesce(arrived_at, quarantined_at) AS "Arrived", site AS "Site", {_SOURCE} AS "Source",
       file AS "File", reason AS "Reason", line AS "Line", field AS "Field", quarantined_as AS "Held as"
FROM quarantined_file
WHERE $__timeFilter(hour) AND {site}
ORDER BY 1 DESC, quarantined_as
LIMIT 500""",
                st.TEXT,
                w=24,
                h=8,
                no_value="None: every file that arrived in the range could be read",
                overrides=(Override("Arrived", style=st.TIMESTAMP),),
            ),
            Panel(
                10,
                "Collector failures",
                "Collectors that failed to reach a target in the range (collector_health_hourly): per site, "
                "collector and target, the attempts, failures, share that succeeded, the latest error and the last "
                "successful attempt, most failures first. The why behind a silent node or GPU. Empty when every "
                "attempt succeeded.",
                Kind.TABLE,
                f"""
SELECT site AS "Site", source AS "Source", producer AS "Producer", target AS "Target",
       CAST(sum(attempts) AS BIGINT) AS "Attempts", CAST(sum(failures) AS BIGINT) AS "Failures",
       {ratio("(sum(attempts) - sum(failures))", "sum(attempts)")} AS "OK ratio",
       arg_max(last_error, hour) FILTER (WHERE failures > 0) AS "Last error", max(last_ok_at) AS "Last OK"
FROM collector_health_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY site, source, producer, target
HAVING sum(failures) > 0
ORDER BY 6 DESC, 1, 2, 3, 4
LIMIT 500""",
                st.TEXT,
                w=24,
                h=8,
                no_value="None: every collection attempt in the range succeeded",
                overrides=(
                    Override("Attempts", style=st.GPU_COUNT),
                    Override("Failures", style=st.ERROR_COUNT),
                    Override("OK ratio", style=st.COVERAGE),
                    Override("Last OK", style=st.TIMESTAMP),
                ),
            ),
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · Pipeline health",
        description="Freshness and coverage of every published source, silent GPUs, cells and meters, late and "
        "quarantined files, and the gaps the pipeline had to bridge.",
        folder=HEALTH,
        variables=("site",),
        rows=(freshness, coverage),
        tags=("health", "pipeline"),
        refresh="5m",
    )

"""Pipeline health: how fresh and how complete each source is in the serving file.

Freshness is "data up to" per source and site against the end of the time range; coverage is the share
of each hour a source actually measured. Quarantined files and collector errors need the data-quality
table (see docs/dashboards.md).
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import HEALTH
from dashboards.catalogue.sql import HOURLY, RANGE_END, RANGE_START, bucket, ratio
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
WHERE {site}
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
                "Per published table and site: the end of the newest period it holds (a daily table's current "
                "day counts as held), how far that lags the end of the time range (hourly sources are published "
                "with a lag for late data), and its rows in the range.",
                Kind.TABLE,
                _freshness(site),
                st.TEXT,
                w=24,
                h=9,
                sort_by="Lag",
                overrides=(
                    Override("Data up to", style=st.TIMESTAMP),
                    Override("Lag", style=st.DURATION_S),
                    Override("Rows in range", style=st.GPU_COUNT),
                ),
            ),
        ),
    )
    coverage = Row(
        "Coverage",
        601,
        (
            Panel(
                2,
                "Coverage per source",
                "Share of each interval a source measured. GPU samples: sample seconds over the seconds of the "
                "GPUs seen during the range (a lost GPU lowers it). RAN: seconds covered by non-suspect PM "
                "periods per cell-hour. Facility meters and PUE: their measured share of the hour.",
                Kind.TIMESERIES,
                f"""
WITH gpu AS (
  SELECT h.hour, h.site, sum(h.sample_s) AS covered_s
  FROM gpu_hourly AS h
  WHERE $__timeFilter(h.hour) AND {v.site("h.")}
  GROUP BY 1, 2
), gpu_expected AS (
  SELECT g.hour, g.covered_s,
         3600.0 * (SELECT count(*) FROM dim_gpu AS d
                   WHERE d.site = g.site AND d.first_seen < g.hour + INTERVAL 1 HOUR
                     AND d.last_seen >= {RANGE_START}) AS expected_s
  FROM gpu AS g
), coverage AS (
  SELECT {bucket("hour")} AS time, 'GPU samples' AS source,
         {ratio("sum(covered_s)", "sum(expected_s)")} AS coverage
  FROM gpu_expected GROUP BY 1
  UNION ALL
  SELECT {bucket("hour")}, 'RAN PM periods', {ratio("sum(covered_s)", "count(*) * 3600.0")}
  FROM ran_cell_hourly WHERE $__timeFilter(hour) AND {site} GROUP BY 1
  UNION ALL
  SELECT {bucket("hour")}, 'Facility meters', avg(coverage_ratio)
  FROM meter_energy_hourly WHERE $__timeFilter(hour) AND {site} GROUP BY 1
  UNION ALL
  SELECT {bucket("hour")}, 'PUE (both sides)', avg(coverage_ratio)
  FROM pue_hourly WHERE $__timeFilter(hour) AND {site} GROUP BY 1
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
                3,
                "Gaps over the range",
                "Incomplete GPU-hours (under 59 minutes of samples), PUE hours flagged low coverage, meter-hours "
                "with energy spread across a gap, and meter register resets or wraps.",
                Kind.STAT,
                f"""
SELECT (SELECT count(*) FROM gpu_hourly WHERE $__timeFilter(hour) AND {site} AND sample_s < 3540)
         AS "Incomplete GPU-hours",
       (SELECT count(*) FROM pue_hourly WHERE $__timeFilter(hour) AND {site} AND low_coverage)
         AS "Low-coverage PUE hours",
       (SELECT count(*) FROM meter_energy_hourly WHERE $__timeFilter(hour) AND {site} AND interpolated)
         AS "Interpolated meter-hours",
       (SELECT CAST(coalesce(sum(resets), 0) AS BIGINT) FROM meter_energy_hourly
         WHERE $__timeFilter(hour) AND {site}) AS "Register resets\"""",
                st.PROBLEM_COUNT,
                w=12,
                h=4,
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
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · Pipeline health",
        description="Freshness and coverage of every published source, and the gaps the pipeline had to bridge.",
        folder=HEALTH,
        variables=("site",),
        rows=(freshness, coverage),
        tags=("health", "pipeline"),
        refresh="5m",
    )

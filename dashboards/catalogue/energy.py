"""Energy & PUE: facility vs IT vs GPU power, PUE per hour, day, month and rolling 12 months, energy by tenant.

PUE is always Σ facility kWh / Σ IT kWh over the period shown (never a mean of hourly ratios), with the
measurement category and the share of the period both sides were measured.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import DAILY, HOURLY, RANGE_END, RANGE_START, bucket, per_hour_by, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-energy"
TENANTS_UID = "aigrid-tenants"
PIPELINE_UID = "aigrid-pipeline"

_PUE = ratio("sum(facility_kwh)", "sum(it_kwh)")
#: The UTC months the range touches (month columns are the first day of the month).
_MONTHS = f"month >= date_trunc('month', {RANGE_START}) AND month <= {RANGE_END}"


def dashboard(v: Vocabulary) -> Dashboard:
    site = v.site()
    end_day = f"CAST({RANGE_END} AS DATE)"
    summary = Row(
        "Summary",
        200,
        (
            Panel(
                1,
                "PUE",
                "Facility energy over IT energy for the time range (pue_hourly). Green below the 1.4 target, "
                "amber from 1.4, red from 1.6.",
                Kind.STAT,
                f'SELECT {_PUE} AS "PUE"\nFROM pue_hourly\nWHERE $__timeFilter(hour) AND {site}',
                st.PUE,
                w=4,
                h=5,
            ),
            Panel(
                2,
                "PUE, rolling 12 months",
                "Facility over IT energy of the 12 UTC months ending with the month of the range end "
                "(pue_rolling_12m; the current month to date), summed over the selected sites: the figure "
                "annual reporting asks for. 'Interim' when under 90 % of the year was measured (a site's first "
                "year, long outages); the coverage is the worst site's.",
                Kind.STAT,
                f"""
WITH latest AS (
  SELECT *
  FROM pue_rolling_12m
  WHERE month <= {end_day} AND {site}
  QUALIFY month = max(month) OVER (PARTITION BY site)
)
SELECT {_PUE} AS "PUE 12 months",
       min(CASE window_type WHEN 'ttm' THEN 1 ELSE 0 END) AS "Window",
       min(coverage_ratio) AS "Coverage"
FROM latest""",
                st.PUE,
                w=7,
                h=5,
                overrides=(
                    Override("Window", style=st.WINDOW_TYPE),
                    Override("Coverage", style=st.COVERAGE),
                ),
            ),
            Panel(
                3,
                "Measurement quality",
                "The lowest PUE category among the selected hours (1 UPS output, 2 PDU output, 3 IT input; "
                "higher is more precise), the mean share of each hour both sides were measured, and the hours "
                "flagged as low coverage.",
                Kind.STAT,
                f"""
SELECT min(category) AS "Category",
       avg(coverage_ratio) AS "Coverage",
       count(*) FILTER (WHERE low_coverage) AS "Low-coverage hours"
FROM pue_hourly
WHERE $__timeFilter(hour) AND {site}""",
                st.PROBLEM_COUNT,
                w=6,
                h=5,
                overrides=(
                    Override("Category", style=st.PUE_CATEGORY),
                    Override("Coverage", style=st.COVERAGE),
                ),
                links=(Link("Pipeline health", PIPELINE_UID),),
            ),
            Panel(
                4,
                "Energy",
                "Energy over the time range: facility total (utility side), IT at the category's metering "
                "point, the GPUs' own metered energy, and cooling.",
                Kind.STAT,
                f"""
SELECT sum(facility_kwh) AS "Facility", sum(it_kwh) AS "IT", sum(gpu_kwh) AS "GPU", sum(cooling_kwh) AS "Cooling"
FROM pue_hourly
WHERE $__timeFilter(hour) AND {site}""",
                st.ENERGY_KWH,
                w=7,
                h=5,
            ),
        ),
    )
    power = Row(
        "Power and PUE",
        201,
        (
            Panel(
                5,
                "Facility, IT and GPU power",
                "Mean power per interval (kWh per hour = kW), summed over the selected sites.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time,
       sum(facility_kwh) / count(DISTINCT hour) AS "facility",
       sum(it_kwh) / count(DISTINCT hour) AS "IT",
       sum(gpu_kwh) / count(DISTINCT hour) AS "GPU",
       sum(cooling_kwh) / count(DISTINCT hour) AS "cooling"
FROM pue_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1
ORDER BY 1""",
                st.POWER_KW,
                w=12,
                h=8,
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
            ),
            Panel(
                6,
                "PUE per hour",
                "Facility over IT energy per site and interval; the dashed lines are the 1.4 target and the "
                "1.6 alarm level.",
                Kind.TIMESERIES,
                f"""
SELECT {bucket("hour")} AS time, site, {_PUE} AS pue
FROM pue_hourly
WHERE $__timeFilter(hour) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.PUE,
                w=12,
                h=8,
                series_name="${__field.labels.site}",
                min_interval=HOURLY,
                threshold_lines=True,
                legend_calcs=("mean", "max"),
            ),
        ),
    )
    periods = Row(
        "PUE by day, month and year",
        202,
        (
            Panel(
                7,
                "PUE per day",
                "Facility over IT energy per site and UTC day (pue_daily), last 30 days.",
                Kind.TIMESERIES,
                f"""
SELECT CAST(day AS TIMESTAMP) AS time, site, {_PUE} AS pue
FROM pue_daily
WHERE $__timeFilter(day) AND {site}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.PUE,
                w=8,
                h=8,
                bars=True,
                series_name="${__field.labels.site}",
                min_interval=DAILY,
                time_from="30d",
                threshold_lines=True,
            ),
            Panel(
                8,
                "PUE per month and rolling 12 months",
                "Bars: facility over IT energy per UTC month of the selected sites (pue_monthly, the current "
                "month to date). Line: the 12 months ending with each month (pue_rolling_12m). Last 12 months; "
                "the table below has each site's category, coverage and window type.",
                Kind.TIMESERIES,
                f"""
WITH monthly AS (
  SELECT month, sum(facility_kwh) AS facility, sum(it_kwh) AS it
  FROM pue_monthly
  WHERE {_MONTHS} AND {site}
  GROUP BY month
), rolling AS (
  SELECT month, sum(facility_kwh) AS facility, sum(it_kwh) AS it
  FROM pue_rolling_12m
  WHERE {_MONTHS} AND {site}
  GROUP BY month
)
SELECT CAST(month AS TIMESTAMP) AS time,
       {ratio("monthly.facility", "monthly.it")} AS "month",
       {ratio("rolling.facility", "rolling.it")} AS "rolling 12 months"
FROM monthly
FULL JOIN rolling USING (month)
ORDER BY 1""",
                st.PUE,
                w=8,
                h=8,
                time_from="1y",
                threshold_lines=True,
                overrides=(Override("month", bars=True),),
            ),
            Panel(
                9,
                "PUE by site",
                "Per site over the time range: energies, PUE against the site's target (dim_site), lowest "
                "category, mean coverage and low-coverage hours.",
                Kind.TABLE,
                f"""
SELECT p.site AS "Site", any_value(s.name) AS "Name",
       sum(p.facility_kwh) AS "Facility", sum(p.it_kwh) AS "IT",
       {ratio("sum(p.facility_kwh)", "sum(p.it_kwh)")} AS "PUE",
       any_value(s.pue_target) AS "Target",
       min(p.category) AS "Category",
       avg(p.coverage_ratio) AS "Coverage",
       count(*) FILTER (WHERE p.low_coverage) AS "Low-coverage hours"
FROM pue_hourly AS p
LEFT JOIN dim_site AS s ON s.site = p.site
WHERE $__timeFilter(p.hour) AND {v.site("p.")}
GROUP BY p.site
ORDER BY p.site""",
                st.ENERGY_KWH,
                w=8,
                h=8,
                overrides=(
                    Override("Site", style=st.TEXT),
                    Override("Name", style=st.TEXT),
                    Override("PUE", style=st.PUE),
                    Override("Target", style=st.PUE),
                    Override("Category", style=st.PUE_CATEGORY),
                    Override("Coverage", style=st.COVERAGE),
                    Override("Low-coverage hours", style=st.PROBLEM_COUNT),
                ),
            ),
        ),
    )
    months = Row(
        "PUE by month",
        204,
        (
            Panel(
                12,
                "Monthly PUE by site",
                "Per site and UTC month, last 12 months: the month's PUE (pue_monthly), its metering category "
                "(the weakest of its hours), the share of the month measured, and the rolling 12-month PUE "
                "ending with it (pue_rolling_12m) with its window type, coverage and months used. An interim "
                "window is not an annual PUE.",
                Kind.TABLE,
                f"""
SELECT strftime(m.month, '%Y-%m') AS "Month", m.site AS "Site",
       m.facility_kwh AS "Facility", m.it_kwh AS "IT", m.pue AS "PUE", m.category AS "Category",
       m.coverage_ratio AS "Coverage", r.pue AS "PUE 12 months",
       CASE r.window_type WHEN 'ttm' THEN 'trailing 12 months' WHEN 'interim' THEN 'interim' END AS "Window",
       r.coverage_ratio AS "12-month coverage", r.months_used AS "Months used"
FROM pue_monthly AS m
LEFT JOIN pue_rolling_12m AS r USING (site, month)
WHERE m.month >= date_trunc('month', {RANGE_START}) AND m.month <= {RANGE_END} AND {v.site("m.")}
ORDER BY m.month DESC, m.site""",
                st.ENERGY_KWH,
                w=24,
                h=8,
                time_from="1y",
                overrides=(
                    Override("Month", style=st.TEXT),
                    Override("Site", style=st.TEXT),
                    Override("PUE", style=st.PUE),
                    Override("Category", style=st.PUE_CATEGORY),
                    Override("Coverage", style=st.COVERAGE),
                    Override("PUE 12 months", style=st.PUE),
                    Override("Window", style=st.TEXT),
                    Override("12-month coverage", style=st.COVERAGE),
                    Override("Months used", style=st.GPU_COUNT),
                ),
            ),
        ),
    )
    tenants = Row(
        "Energy by tenant",
        203,
        (
            Panel(
                10,
                "Facility energy by tenant",
                "GPU energy held by each tenant with the facility overhead added through the hour's PUE "
                "(tenant_usage_hourly), including the idle and unattributed lines.",
                Kind.BARGAUGE,
                f"""
SELECT coalesce(t.name, u.tenant) AS tenant, sum(u.facility_energy_kwh) AS "facility kWh"
FROM tenant_usage_hourly AS u
LEFT JOIN dim_tenant AS t ON t.tenant = u.tenant
WHERE $__timeFilter(u.hour) AND {v.site("u.")} AND {v.tenant("u.")}
GROUP BY 1
ORDER BY 2 DESC NULLS LAST, 1
LIMIT 20""",
                st.ENERGY_KWH,
                w=12,
                h=8,
                per_row=True,
                links=(Link("Tenant usage", TENANTS_UID),),
            ),
            Panel(
                11,
                "Facility power by tenant",
                "Mean facility-side power per tenant and interval (GPU energy × PUE per hour, averaged over the "
                "hours of the interval), stacked.",
                Kind.TIMESERIES,
                per_hour_by(
                    "tenant",
                    "tenant",
                    "facility_energy_kwh",
                    "power",
                    "tenant_usage_hourly",
                    f"$__timeFilter(hour) AND {site} AND {v.tenant()}",
                ),
                st.POWER_KW,
                w=12,
                h=8,
                stacking="normal",
                series_name="${__field.labels.tenant}",
                min_interval=HOURLY,
            ),
        ),
    )
    return Dashboard(
        uid=UID,
        title="AI grid · Energy & PUE",
        description="Facility, IT and GPU energy; PUE per hour, day, month and 12 months with category and "
        "coverage against the 1.4 target; energy by tenant.",
        folder=OPERATIONS,
        variables=("site", "tenant"),
        rows=(summary, power, periods, months, tenants),
        tags=("energy", "pue"),
    )

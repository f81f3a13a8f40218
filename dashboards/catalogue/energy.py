"""Energy & PUE: facility vs IT vs GPU power, PUE per hour, day, month and rolling 12 months, energy by tenant.

PUE is always Σ facility kWh / Σ IT kWh over the period shown (never a mean of hourly ratios), with the
measurement category and the share of the period both sides were measured.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import DAILY, HOURLY, RANGE_END, bucket, per_hour_by, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary

UID = "aigrid-energy"
TENANTS_UID = "aigrid-tenants"
PIPELINE_UID = "aigrid-pipeline"

_PUE = ratio("sum(facility_kwh)", "sum(it_kwh)")


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
                "Facility over IT energy of the 12 months ending at the end of the time range (pue_daily), "
                "the figure annual reporting asks for.",
                Kind.STAT,
                f"""
SELECT {_PUE} AS "PUE 12 months"
FROM pue_daily
WHERE day > CAST({RANGE_END} - INTERVAL 12 MONTH AS DATE) AND day <= {end_day} AND {site}""",
                st.PUE,
                w=4,
                h=5,
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
                w=8,
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
                w=8,
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
                "Bars: facility over IT energy per calendar month of the selected sites. Line: the same over "
                "the 12 months ending with each month. Last 12 months.",
                Kind.TIMESERIES,
                f"""
WITH monthly AS (
  SELECT date_trunc('month', day) AS month, sum(facility_kwh) AS facility, sum(it_kwh) AS it
  FROM pue_daily
  WHERE day <= {end_day} AND {site}
  GROUP BY 1
)
SELECT month AS time,
       {ratio("facility", "it")} AS "month",
       {ratio("sum(facility) OVER w", "sum(it) OVER w")} AS "rolling 12 months"
FROM monthly
WINDOW w AS (ORDER BY month RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW)
QUALIFY month >= date_trunc('month', CAST($__timeFrom() AS TIMESTAMP))
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
        rows=(summary, power, periods, tenants),
        tags=("energy", "pue"),
    )

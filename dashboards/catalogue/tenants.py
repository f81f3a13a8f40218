"""Tenant usage: GPU-hours, efficiency, energy with PUE uplift and an indicative cost per tenant.

The idle and unattributed lines are shown like tenants, so the statement adds up to the metered GPU
energy. Cost uses the two price boxes of the dashboard until the tariff table is published.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import HOURLY, IDLE, RANGE_END, UNATTRIBUTED, per_hour_by, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row
from dashboards.variables import Vocabulary, price

UID = "aigrid-tenants"
AIRAN_UID = "aigrid-airan"
ENERGY_UID = "aigrid-energy"

_RESERVED = f"({IDLE}, {UNATTRIBUTED})"


def _cost(gpu_hours: str, facility_kwh: str) -> str:
    return f"{gpu_hours} * {price('gpu_hour_price')} + coalesce({facility_kwh}, 0) * {price('kwh_price')}"


def dashboard(v: Vocabulary) -> Dashboard:
    site, tenant = v.site(), v.tenant()
    scope = f"$__timeFilter(hour) AND {site} AND {tenant}"
    month = Row(
        "Month to date",
        300,
        (
            Panel(
                1,
                "Month to date",
                "From the start of the UTC month of the range end to the range end, for the selected tenants "
                "without the idle and unattributed lines: GPU-hours held, busy share, facility energy (GPU "
                "energy × PUE) and the indicative cost at the prices above.",
                Kind.STAT,
                f"""
SELECT sum(gpu_hours) AS "GPU-hours",
       {ratio("sum(busy_gpu_hours)", "sum(gpu_hours)")} AS "Efficiency",
       sum(facility_energy_kwh) AS "Facility energy",
       {_cost("sum(gpu_hours)", "sum(facility_energy_kwh)")} AS "Indicative cost"
FROM tenant_usage_hourly
WHERE hour >= date_trunc('month', {RANGE_END}) AND hour <= {RANGE_END}
  AND tenant NOT IN {_RESERVED} AND {site} AND {tenant}""",
                st.GPU_HOURS,
                w=24,
                h=5,
                overrides=(
                    Override("Efficiency", style=st.UTIL),
                    Override("Facility energy", style=st.ENERGY_KWH),
                    Override("Indicative cost", style=st.COST_JPY),
                ),
            ),
        ),
    )
    statement = Row(
        "Statement",
        301,
        (
            Panel(
                2,
                "Tenant statement",
                "Per tenant over the time range: GPU-hours held and busy, efficiency (busy / held), metered GPU "
                "energy, facility energy with the PUE uplift, the uplift itself (hours with a known PUE), "
                "hours without a PUE, and the indicative cost. The idle line is unallocated capacity; "
                "unattributed is held by something no tenant rule matched.",
                Kind.TABLE,
                f"""
SELECT u.tenant AS "Tenant", coalesce(any_value(t.name), u.tenant) AS "Name",
       coalesce(any_value(t.kind), 'unknown') AS "Kind",
       sum(u.gpu_hours) AS "GPU-hours", sum(u.busy_gpu_hours) AS "Busy GPU-hours",
       {ratio("sum(u.busy_gpu_hours)", "sum(u.gpu_hours)")} AS "Efficiency",
       sum(u.gpu_energy_kwh) AS "GPU energy",
       sum(u.facility_energy_kwh) AS "Facility energy",
       sum(u.facility_energy_kwh - u.gpu_energy_kwh) AS "PUE uplift",
       count(*) FILTER (WHERE u.pue IS NULL) AS "Hours without PUE",
       {_cost("sum(u.gpu_hours)", "sum(u.facility_energy_kwh)")} AS "Indicative cost"
FROM tenant_usage_hourly AS u
LEFT JOIN dim_tenant AS t ON t.tenant = u.tenant
WHERE $__timeFilter(u.hour) AND {v.site("u.")} AND {v.tenant("u.")}
GROUP BY u.tenant
ORDER BY 4 DESC, 1""",
                st.GPU_HOURS,
                w=24,
                h=9,
                sort_by="GPU-hours",
                overrides=(
                    Override("Tenant", style=st.TEXT),
                    Override("Name", style=st.TEXT),
                    Override("Kind", style=st.TEXT),
                    Override("Efficiency", style=st.UTIL),
                    Override("GPU energy", style=st.ENERGY_KWH),
                    Override("Facility energy", style=st.ENERGY_KWH),
                    Override("PUE uplift", style=st.ENERGY_KWH),
                    Override("Hours without PUE", style=st.PROBLEM_COUNT),
                    Override("Indicative cost", style=st.COST_JPY),
                ),
                links=(Link("Energy & PUE", ENERGY_UID),),
            ),
        ),
    )
    trends = Row(
        "Trends",
        302,
        (
            Panel(
                3,
                "Top tenants by GPU-hours",
                "The ten tenants that held the most GPU-hours over the time range (idle and unattributed "
                "lines left out).",
                Kind.BARGAUGE,
                f"""
SELECT coalesce(t.name, u.tenant) AS tenant, sum(u.gpu_hours) AS "GPU-hours"
FROM tenant_usage_hourly AS u
LEFT JOIN dim_tenant AS t ON t.tenant = u.tenant
WHERE $__timeFilter(u.hour) AND u.tenant NOT IN {_RESERVED} AND {v.site("u.")} AND {v.tenant("u.")}
GROUP BY 1
ORDER BY 2 DESC NULLS LAST, 1
LIMIT 10""",
                st.GPU_HOURS,
                w=8,
                h=8,
                per_row=True,
            ),
            Panel(
                4,
                "GPUs held per tenant",
                "Mean GPUs each tenant held per interval, stacked with the idle and unattributed lines: the "
                "stack is the GPUs accounted for.",
                Kind.TIMESERIES,
                per_hour_by("tenant", "tenant", "gpu_hours", "gpus", "tenant_usage_hourly", scope),
                st.GPUS,
                w=16,
                h=8,
                stacking="normal",
                series_name="${__field.labels.tenant}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
                links=(Link("AI-RAN share", AIRAN_UID),),
            ),
            Panel(
                5,
                "Utilisation efficiency per tenant",
                "Busy over held GPU-hours per tenant and interval: how much of what a tenant pays for it uses.",
                Kind.TIMESERIES,
                f"""
SELECT time_bucket(CAST($__interval AS INTERVAL), hour) AS time, tenant,
       {ratio("sum(busy_gpu_hours)", "sum(gpu_hours)")} AS efficiency
FROM tenant_usage_hourly
WHERE {scope} AND tenant NOT IN {_RESERVED}
GROUP BY 1, 2
ORDER BY 1, 2""",
                st.UTIL,
                w=12,
                h=8,
                series_name="${__field.labels.tenant}",
                min_interval=HOURLY,
                legend_calcs=("mean",),
            ),
            Panel(
                6,
                "Facility energy per tenant",
                "Mean facility-side power per tenant and interval (GPU energy × PUE), stacked, with the idle "
                "and unattributed lines.",
                Kind.TIMESERIES,
                per_hour_by("tenant", "tenant", "facility_energy_kwh", "power", "tenant_usage_hourly", scope),
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
        title="AI grid · Tenant usage",
        description="Per tenant GPU-hours, efficiency, energy with PUE uplift and indicative cost, month to date, "
        "top tenants, and the idle and unattributed lines.",
        folder=OPERATIONS,
        variables=("site", "tenant", "gpu_hour_price", "kwh_price"),
        rows=(month, statement, trends),
        tags=("tenants", "chargeback"),
    )

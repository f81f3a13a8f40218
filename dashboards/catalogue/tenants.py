"""Tenant usage: GPU-hours, efficiency, energy with PUE uplift and cost per tenant, month to date and by month.

The idle and unattributed lines are shown like tenants, so the statement adds up to the metered GPU time
and energy. Costs are the tenant marts' own (``cost``, ``gpu_hour_cost``, ``energy_cost`` priced from
``tariff.yaml`` per site, GPU model and hour); the monthly statement adds each tenant's share of idle
capacity under the tariff's idle policy. Without a tariff the cost columns stay empty rather than zero.
"""

from __future__ import annotations

from dashboards import style as st
from dashboards.catalogue.folders import OPERATIONS
from dashboards.catalogue.sql import HOURLY, IDLE, RANGE_END, RANGE_START, UNATTRIBUTED, per_hour_by, ratio
from dashboards.spec import Dashboard, Kind, Link, Override, Panel, Row, Step
from dashboards.variables import Vocabulary

UID = "aigrid-tenants"
AIRAN_UID = "aigrid-airan"
ENERGY_UID = "aigrid-energy"

_RESERVED = f"({IDLE}, {UNATTRIBUTED})"
_CURRENCY = "string_agg(DISTINCT {col}, ', ' ORDER BY {col})"
#: GPU-hours no tariff entry priced: any is worth a look (a new GPU model, a site missing from the tariff).
_UNPRICED = st.GPU_HOURS.but(steps=(Step(st.GREEN), Step(st.AMBER, 0.05)))
NO_PRICES = "No prices: config/tariff.yaml is missing or prices none of these GPUs"


def _currency(column: str) -> str:
    return _CURRENCY.format(col=column)


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
                "energy × PUE), cost from the tariff (GPU-hours plus energy), and GPU-hours the tariff does not "
                "price (their cost is missing, not zero).",
                Kind.STAT,
                f"""
SELECT sum(gpu_hours) AS "GPU-hours",
       {ratio("sum(busy_gpu_hours)", "sum(gpu_hours)")} AS "Efficiency",
       sum(facility_energy_kwh) AS "Facility energy",
       sum(cost) AS "Cost",
       coalesce(sum(gpu_hours) FILTER (WHERE cost IS NULL), 0) AS "Unpriced GPU-hours"
FROM tenant_usage_hourly
WHERE hour >= date_trunc('month', {RANGE_END}) AND hour <= {RANGE_END}
  AND tenant NOT IN {_RESERVED} AND {site} AND {tenant}""",
                st.GPU_HOURS,
                w=24,
                h=5,
                overrides=(
                    Override("Efficiency", style=st.UTIL),
                    Override("Facility energy", style=st.ENERGY_KWH),
                    Override("Cost", style=st.COST),
                    Override("Unpriced GPU-hours", style=_UNPRICED),
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
                "Per tenant over the time range (tenant_usage_hourly): GPU-hours held and busy, efficiency "
                "(busy / held), metered GPU energy, facility energy with the PUE uplift, the uplift itself, "
                "GPU-hours in hours without a PUE (their energy is priced at GPU energy), and the cost split "
                "into GPU-hours and energy, in the tariff's currency. The idle line is unallocated capacity; "
                "unattributed is held by something no tenant rule matched.",
                Kind.TABLE,
                f"""
SELECT u.tenant AS "Tenant", coalesce(any_value(t.name), u.tenant) AS "Name",
       coalesce(any_value(u.kind), 'unknown') AS "Kind",
       sum(u.gpu_hours) AS "GPU-hours", sum(u.busy_gpu_hours) AS "Busy GPU-hours",
       {ratio("sum(u.busy_gpu_hours)", "sum(u.gpu_hours)")} AS "Efficiency",
       sum(u.gpu_energy_kwh) AS "GPU energy",
       sum(u.facility_energy_kwh) AS "Facility energy",
       sum(u.overhead_kwh) AS "PUE uplift",
       sum(u.hours_without_pue) AS "GPU-hours without PUE",
       sum(u.gpu_hour_cost) AS "GPU-hour cost",
       sum(u.energy_cost) AS "Energy cost",
       sum(u.cost) AS "Cost",
       {_currency("u.currency")} AS "Currency"
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
                    Override("GPU-hours without PUE", style=_UNPRICED),
                    Override("GPU-hour cost", style=st.COST),
                    Override("Energy cost", style=st.COST),
                    Override("Cost", style=st.COST),
                    Override("Currency", style=st.TEXT),
                ),
                links=(Link("Energy & PUE", ENERGY_UID),),
            ),
            Panel(
                7,
                "Monthly statements",
                "Per UTC month the time range touches and tenant (v_tenant_month; the current month to date): "
                "GPU-hours, efficiency, facility energy, the usage cost, the idle capacity shared to the tenant "
                "under the tariff's idle policy (negative on the idle line), and the amount due with that "
                "share: what each tenant's statement shows.",
                Kind.TABLE,
                f"""
SELECT strftime(month, '%Y-%m') AS "Month", tenant AS "Tenant", any_value(tenant_name) AS "Name",
       any_value(kind) AS "Kind",
       sum(gpu_hours) AS "GPU-hours",
       {ratio("sum(busy_gpu_hours)", "sum(gpu_hours)")} AS "Efficiency",
       sum(facility_energy_kwh) AS "Facility energy",
       sum(cost) AS "Usage cost",
       sum(idle_share_gpu_hours) AS "Idle share",
       sum(idle_share_cost) AS "Idle share cost",
       sum(cost_with_idle_share) AS "Amount due",
       {_currency("currency")} AS "Currency",
       {_currency("idle_policy")} AS "Idle policy"
FROM v_tenant_month
WHERE month >= date_trunc('month', {RANGE_START}) AND month <= {RANGE_END} AND {site} AND {tenant}
GROUP BY month, tenant
ORDER BY month DESC, 11 DESC NULLS LAST, 5 DESC, 2""",
                st.GPU_HOURS,
                w=24,
                h=8,
                overrides=(
                    Override("Month", style=st.TEXT),
                    Override("Tenant", style=st.TEXT),
                    Override("Name", style=st.TEXT),
                    Override("Kind", style=st.TEXT),
                    Override("Efficiency", style=st.UTIL),
                    Override("Facility energy", style=st.ENERGY_KWH),
                    Override("Usage cost", style=st.COST),
                    Override("Idle share", style=st.GPU_HOURS),
                    Override("Idle share cost", style=st.COST),
                    Override("Amount due", style=st.COST),
                    Override("Currency", style=st.TEXT),
                    Override("Idle policy", style=st.TEXT),
                ),
            ),
        ),
    )
    prices = Row(
        "Prices",
        303,
        (
            Panel(
                9,
                "Tariff",
                "The prices every cost on this dashboard comes from (dim_tariff, from tariff.yaml, in file "
                "order: the first entry matching a site, GPU model and hour wins), with their validity window "
                "and the idle policy the monthly statements apply.",
                Kind.TABLE,
                """
SELECT item AS "Item", position AS "Entry", sites AS "Sites", model AS "GPU model", price AS "Price",
       unit AS "Per", currency AS "Currency", valid_from AS "Valid from", valid_until AS "Valid until",
       idle_policy AS "Idle policy"
FROM dim_tariff
WHERE item IS NOT NULL
ORDER BY item DESC, position""",
                st.TEXT,
                w=24,
                h=6,
                no_value=NO_PRICES,
                overrides=(
                    Override("Entry", style=st.GPU_COUNT),
                    Override("Price", style=st.COST.but(decimals=2)),
                    Override("Valid from", style=st.TIMESTAMP),
                    Override("Valid until", style=st.TIMESTAMP),
                ),
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
                8,
                "Cost by tenant",
                "Cost over the time range per tenant from the tariff (GPU-hours plus facility energy), the idle "
                "and unattributed lines included: what the capacity cost, and who it is charged to.",
                Kind.BARGAUGE,
                f"""
SELECT coalesce(t.name, u.tenant) AS tenant, sum(u.cost) AS "Cost"
FROM tenant_usage_hourly AS u
LEFT JOIN dim_tenant AS t ON t.tenant = u.tenant
WHERE $__timeFilter(u.hour) AND u.cost IS NOT NULL AND {v.site("u.")} AND {v.tenant("u.")}
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 20""",
                st.COST,
                w=8,
                h=8,
                per_row=True,
                no_value=NO_PRICES,
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
                w=8,
                h=8,
                series_name="${__field.labels.tenant}",
                min_interval=HOURLY,
                legend_calcs=("mean",),
            ),
            Panel(
                4,
                "GPUs held per tenant",
                "Mean GPUs each tenant held per interval, stacked with the idle and unattributed lines: the "
                "stack is the GPUs accounted for.",
                Kind.TIMESERIES,
                per_hour_by("tenant", "tenant", "gpu_hours", "gpus", "tenant_usage_hourly", scope),
                st.GPUS,
                w=12,
                h=8,
                stacking="normal",
                series_name="${__field.labels.tenant}",
                min_interval=HOURLY,
                legend_calcs=("mean", "max"),
                links=(Link("AI-RAN share", AIRAN_UID),),
            ),
            Panel(
                6,
                "Facility power per tenant",
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
        description="Per tenant GPU-hours, efficiency, energy with PUE uplift and cost from the tariff, month to "
        "date and monthly statements with the idle share, top tenants, and the idle and unattributed lines.",
        folder=OPERATIONS,
        variables=("site", "tenant"),
        rows=(month, statement, trends, prices),
        tags=("tenants", "chargeback"),
    )

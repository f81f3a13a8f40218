"""Checks on tenancy: the invariant (tenants + idle + unattributed = metered GPU time and energy) at every level,
unique keys, ranges, and warnings when much use is unattributed or the PUE is missing."""

from pipelines.defs.quality.factory import WARN, offending_rows, ranges, table_checks, unique_keys

#: Relative tolerance of the reconciliations: float rounding only, the split itself is exact.
TOLERANCE = 1e-6
UNATTRIBUTED_WARN_RATIO = 0.05


def _off(a: str, b: str) -> str:
    return f"abs(coalesce({a}, 0) - coalesce({b}, 0)) > {TOLERANCE} * greatest(abs(coalesce({a}, 0)), 1e-6)"


def _reconcile_sql(where: str) -> str:
    return f"""
        WITH metered AS (
            SELECT date_trunc('hour', ts) AS hour, site, sum(interval_s) / 3600 AS gpu_hours,
                   sum(energy_j) / 3.6e6 AS kwh
            FROM gpu_sample WHERE gpu_instance_id IS NULL AND ts >= ? AND ts < ? GROUP BY ALL
        ), billed AS (
            SELECT hour, site, sum(gpu_hours) AS gpu_hours, sum(gpu_energy_kwh) AS kwh
            FROM tenant_usage_hourly WHERE {where} GROUP BY ALL
        )
        SELECT coalesce(m.hour, b.hour) AS hour, coalesce(m.site, b.site) AS site,
               m.gpu_hours AS metered_gpu_hours, b.gpu_hours AS billed_gpu_hours, m.kwh AS metered_kwh,
               b.kwh AS billed_kwh
        FROM metered m FULL OUTER JOIN billed b ON m.hour = b.hour AND m.site = b.site
        WHERE b.hour IS NULL OR m.hour IS NULL OR {_off("m.gpu_hours", "b.gpu_hours")} OR {_off("m.kwh", "b.kwh")}
        ORDER BY 1, 2"""


def _per_gpu_sql(where: str) -> str:
    return f"""
        WITH g AS (SELECT date_trunc('hour', ts) AS hour, site, gpu_uuid, sum(interval_s) / 3600 AS gpu_hours,
                          sum(energy_j) / 3.6e6 AS kwh
                   FROM gpu_sample WHERE gpu_instance_id IS NULL AND ts >= ? AND ts < ? GROUP BY ALL),
             t AS (SELECT hour, site, gpu_uuid, sum(gpu_hours) AS gpu_hours, sum(energy_kwh) AS kwh
                   FROM gpu_tenant_hourly WHERE {where} GROUP BY ALL)
        SELECT coalesce(g.hour, t.hour) AS hour, coalesce(g.site, t.site) AS site,
               coalesce(g.gpu_uuid, t.gpu_uuid) AS gpu_uuid, g.gpu_hours, t.gpu_hours, g.kwh, t.kwh
        FROM g FULL JOIN t USING (hour, site, gpu_uuid)
        WHERE g.hour IS NULL OR t.hour IS NULL OR {_off("g.gpu_hours", "t.gpu_hours")} OR {_off("g.kwh", "t.kwh")}
        ORDER BY 1, 2, 3"""


def _rollup_sql(upper: str, lower: str, period: str, lower_period: str, keys: str) -> str:
    """Rows where the upper table's sums differ from the lower table's over the same keys and period."""
    measures = ("gpu_hours", "busy_gpu_hours", "gpu_energy_kwh", "cost")
    sums = ", ".join(f"sum({m}) AS {m}" for m in measures)
    return f"""
        WITH lo AS (SELECT {lower_period} AS {period}, {keys}, {sums} FROM {lower} WHERE {{lower_where}} GROUP BY ALL),
             up AS (SELECT {period}, {keys}, {sums} FROM {upper} WHERE {{where}} GROUP BY ALL)
        SELECT {period}, {keys}, up.gpu_hours, lo.gpu_hours, up.gpu_energy_kwh, lo.gpu_energy_kwh
        FROM up FULL JOIN lo USING ({period}, {keys})
        WHERE up.gpu_hours IS NULL OR lo.gpu_hours IS NULL
           OR {" OR ".join(_off(f"up.{m}", f"lo.{m}") for m in measures)}
        ORDER BY ALL"""


_DAILY = _rollup_sql("tenant_usage_daily", "tenant_usage_hourly", "day", "CAST(hour AS DATE)", "site, tenant, model")
_MONTHLY = _rollup_sql(
    "tenant_usage_monthly",
    "tenant_usage_daily",
    "month",
    "CAST(date_trunc('month', day) AS DATE)",
    "site, tenant, model",
)

_SHARE_SQL = """
    WITH u AS (SELECT hour, site, sum(gpu_hours) AS gh, sum(gpu_energy_kwh) AS kwh,
                      coalesce(sum(gpu_hours) FILTER (WHERE kind = 'ran'), 0) AS ran
               FROM tenant_usage_hourly WHERE hour >= ? AND hour < ? GROUP BY ALL)
    SELECT hour, site, a.gpu_hours, u.gh, a.ran_gpu_hours, u.ran
    FROM ai_ran_share_hourly a FULL JOIN u USING (hour, site)
    WHERE ({where}) AND (a.gpu_hours IS NULL OR u.gh IS NULL OR {off_gh} OR {off_ran} OR {off_kwh} OR {off_parts})
    ORDER BY 1, 2"""

_USAGE_RULES = {
    "negative_quantity": "gpu_hours < 0 OR busy_gpu_hours < 0 OR gpu_energy_kwh < 0 OR reserved_gpu_hours < 0",
    "busy_above_allocated": "busy_gpu_hours > gpu_hours * (1 + 1e-9) + 1e-12",
    "reserved_above_allocated": "reserved_gpu_hours > gpu_hours * (1 + 1e-9) + 1e-12",
    "utilisation_outside_0_1": "utilisation_ratio < 0 OR utilisation_ratio > 1 + 1e-9",
    "pue_below_1": "pue < 1",
    "negative_cost": "cost < 0 OR gpu_hour_cost < 0 OR energy_cost < 0",
    "unknown_kind": "kind NOT IN ('ai', 'ran', 'idle', 'unattributed')",
}


def _monthly_sql(where: str) -> str:
    return (
        "SELECT * FROM ("
        + _MONTHLY.format(where=where, lower_where="TRUE")
        + ") UNION ALL SELECT month, site, 'idle share', model, sum(idle_share_gpu_hours), 0, "
        "sum(idle_share_energy_kwh), 0 FROM tenant_usage_monthly GROUP BY ALL "
        "HAVING abs(sum(idle_share_gpu_hours)) > 1e-6 OR abs(sum(idle_share_energy_kwh)) > 1e-6"
    )


def _share_sql(where: str) -> str:
    return _SHARE_SQL.format(
        where=where,
        off_gh=_off("a.gpu_hours", "u.gh"),
        off_ran=_off("a.ran_gpu_hours", "u.ran"),
        off_kwh=_off("a.gpu_energy_kwh", "u.kwh"),
        off_parts=_off("a.ran_gpu_hours + a.ai_gpu_hours + a.unattributed_gpu_hours + a.idle_gpu_hours", "a.gpu_hours"),
    )


def _unattributed_sql(where: str) -> str:
    return f"""
        SELECT hour, site, sum(gpu_hours) FILTER (WHERE kind = 'unattributed') AS unattributed,
               sum(gpu_hours) FILTER (WHERE kind <> 'idle') AS held
        FROM tenant_usage_hourly WHERE {where} GROUP BY ALL
        HAVING unattributed > {UNATTRIBUTED_WARN_RATIO} * held ORDER BY 1, 2"""


def _without_pue_sql(where: str) -> str:
    return f"""
        SELECT hour, site, sum(hours_without_pue) AS gpu_hours_without_pue FROM tenant_usage_hourly
        WHERE {where} GROUP BY ALL HAVING sum(hours_without_pue) > 0 ORDER BY 1, 2"""


CHECKS = [
    table_checks(
        "gpu_tenant_hourly",
        [
            unique_keys("gpu_tenant_hourly"),
            ranges(
                "gpu_tenant_hourly",
                {
                    "negative_quantity": "gpu_hours < 0 OR busy_gpu_hours < 0 OR energy_kwh < 0",
                    "busy_above_allocated": "busy_gpu_hours > gpu_hours * (1 + 1e-9) + 1e-12",
                },
            ),
            offending_rows(
                "gpu_tenant_hourly_reconciles",
                "For every GPU and hour, the tenants' GPU-hours and energy add up to the GPU's metered samples.",
                _per_gpu_sql,
                params_per_scope=2,
                blocking=True,
            ),
        ],
    ),
    table_checks(
        "tenant_usage_hourly",
        [
            unique_keys("tenant_usage_hourly"),
            ranges("tenant_usage_hourly", _USAGE_RULES),
            offending_rows(
                "tenant_usage_reconciles",
                "Tenants + idle + unattributed = metered GPU-hours and GPU energy, every hour and site.",
                _reconcile_sql,
                params_per_scope=2,
                blocking=True,
            ),
            offending_rows(
                "tenant_usage_mostly_attributed",
                f"Warns when more than {UNATTRIBUTED_WARN_RATIO:.0%} of a site-hour's held GPU time matches no "
                "tenant rule.",
                _unattributed_sql,
                severity=WARN,
            ),
            offending_rows(
                "tenant_usage_has_pue",
                "Warns for site-hours without a PUE: their facility energy is unknown and energy is priced at GPU kWh.",
                _without_pue_sql,
                severity=WARN,
            ),
        ],
    ),
    table_checks(
        "tenant_usage_daily",
        [
            unique_keys("tenant_usage_daily"),
            ranges("tenant_usage_daily", _USAGE_RULES),
            offending_rows(
                "tenant_usage_daily_equals_hours",
                "Each tenant-day equals the sum of its tenant-hours (GPU-hours, busy, energy, cost).",
                lambda where: _DAILY.format(where=where, lower_where="hour >= ? AND hour < ?"),
                params_per_scope=2,
            ),
        ],
    ),
    table_checks(
        "tenant_usage_monthly",
        [
            unique_keys("tenant_usage_monthly", blocking=False),
            ranges("tenant_usage_monthly", _USAGE_RULES),
            offending_rows(
                "tenant_usage_monthly_equals_days",
                "Each tenant-month equals the sum of its tenant-days, and the idle shares net to zero per site "
                "and model.",
                _monthly_sql,
            ),
        ],
    ),
    table_checks(
        "ai_ran_share_hourly",
        [
            unique_keys("ai_ran_share_hourly"),
            ranges(
                "ai_ran_share_hourly",
                {
                    "share_outside_0_1": "ran_share_ratio < 0 OR ran_share_ratio > 1 OR ai_share_ratio > 1 "
                    "OR idle_share_ratio > 1 OR ran_share_of_allocated_ratio > 1",
                    "prb_outside_0_1": "prb_util_dl_ratio < 0 OR prb_util_dl_ratio > 1 OR prb_util_ul_ratio > 1",
                },
            ),
            offending_rows(
                "ai_ran_share_equals_usage",
                "Each site-hour's RAN/AI/unattributed/idle split adds up to the tenant usage of that hour.",
                _share_sql,
                params_per_scope=2,
            ),
        ],
    ),
    table_checks("dim_tenant", [unique_keys("dim_tenant", blocking=False)]),
    table_checks("dim_tariff", [unique_keys("dim_tariff", blocking=False)]),
]

"""Tenant usage from the attribution: per GPU and hour, per tenant and hour (with PUE uplift and cost), the
daily and monthly sums, the idle policy of statements, and the AI-RAN split.

Everything here is a sum of the per-sample attribution, so every level reconciles with the level below and,
through ``idle`` and ``unattributed``, with the metered GPU time and energy.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.lib.frames import conform_to_table
from pipelines.lib.tariff import Tariff, price_usage
from pipelines.lib.tenancy import IDLE, UNATTRIBUTED, TenantConfig


def gpu_tenant_hour(split: pl.DataFrame, hour: dt.datetime) -> pl.DataFrame:
    """``gpu_tenant_hourly`` rows from one hour of :func:`pipelines.lib.attribution.attribute` output."""
    keys = ["site", "node", "gpu_uuid", "gpu_instance_id", "model", "tenant"]
    rows = split.group_by(keys, maintain_order=True).agg(
        (pl.col("gpu_s").sum() / 3600).alias("gpu_hours"),
        (pl.col("busy_s").sum() / 3600).alias("busy_gpu_hours"),
        (pl.col("reserved_s").sum() / 3600).alias("reserved_gpu_hours"),
        (pl.col("energy_j").sum() / 3.6e6).alias("energy_kwh"),
    )
    return conform_to_table(
        "gpu_tenant_hourly",
        rows.with_columns(pl.lit(hour).dt.cast_time_unit("us").alias("hour")).sort(
            "site", "gpu_uuid", "gpu_instance_id", "tenant", nulls_last=False
        ),
    )


def tenant_usage_hour(
    per_gpu: pl.DataFrame, config: TenantConfig, pue: pl.DataFrame, tariff: Tariff | None, hour: dt.datetime
) -> pl.DataFrame:
    """``tenant_usage_hourly`` rows: per-GPU attribution summed per tenant and model, PUE uplift, cost.

    ``pue`` has one row per site (``site``, ``pue``) for the hour; a site without one keeps its GPU energy
    (``facility_energy_kwh`` NULL, ``hours_without_pue`` counting the GPU-hours affected).
    """
    if per_gpu.is_empty():
        return conform_to_table("tenant_usage_hourly", per_gpu.head(0))
    usage = per_gpu.group_by("site", "tenant", "model", maintain_order=True).agg(
        pl.col("gpu_hours").sum(),
        pl.col("busy_gpu_hours").sum(),
        pl.col("reserved_gpu_hours").sum(),
        pl.col("energy_kwh").sum().alias("gpu_energy_kwh"),
    )
    if pue.is_empty():
        pue = pl.DataFrame(schema={"site": pl.String, "pue": pl.Float64})
    kinds = {t: config.kind_of(t) for t in usage.get_column("tenant").unique().to_list()}
    usage = usage.join(pue.select("site", "pue"), on="site", how="left", maintain_order="left").with_columns(
        pl.col("tenant").replace_strict(kinds, return_dtype=pl.String).alias("kind"),
        (pl.col("busy_gpu_hours") / pl.when(pl.col("gpu_hours") > 0).then(pl.col("gpu_hours"))).alias(
            "utilisation_ratio"
        ),
        (pl.col("gpu_energy_kwh") * (pl.col("pue") - 1.0)).alias("overhead_kwh"),
        (pl.col("gpu_energy_kwh") * pl.col("pue")).alias("facility_energy_kwh"),
        pl.when(pl.col("pue").is_null()).then(pl.col("gpu_hours")).otherwise(0.0).alias("hours_without_pue"),
        pl.lit(hour).dt.cast_time_unit("us").alias("hour"),
    )
    priced = price_usage(usage, tariff, hour)
    return conform_to_table("tenant_usage_hourly", priced.sort("site", "tenant", "model"))


_SUMS = """
    max(kind) AS kind,
    sum(gpu_hours) AS gpu_hours,
    sum(busy_gpu_hours) AS busy_gpu_hours,
    sum(busy_gpu_hours) / nullif(sum(gpu_hours), 0) AS utilisation_ratio,
    sum(reserved_gpu_hours) AS reserved_gpu_hours,
    sum(gpu_energy_kwh) AS gpu_energy_kwh,
    -- facility − overhead is the GPU energy of the hours that had a PUE, at every level of summing
    sum(facility_energy_kwh) / nullif(sum(facility_energy_kwh) - sum(overhead_kwh), 0) AS pue,
    sum(overhead_kwh) AS overhead_kwh,
    sum(facility_energy_kwh) AS facility_energy_kwh,
    sum(hours_without_pue) AS hours_without_pue,
    max(currency) AS currency,
    sum(gpu_hour_cost) AS gpu_hour_cost,
    sum(energy_cost) AS energy_cost,
    sum(cost) AS cost"""

TENANT_DAILY_SQL = f"""
SELECT CAST(hour AS DATE) AS day, site, tenant, model,{_SUMS}
FROM tenant_usage_hourly
WHERE hour >= ? AND hour < ?
GROUP BY ALL
ORDER BY day, site, tenant, model
"""

TENANT_MONTHLY_SQL = f"""
SELECT CAST(date_trunc('month', day) AS DATE) AS month, site, tenant, model,{_SUMS},
    count(DISTINCT day) AS days
FROM tenant_usage_daily
GROUP BY ALL
ORDER BY month, site, tenant, model
"""


def share_idle(monthly: pl.DataFrame, policy: str) -> pl.DataFrame:
    """Add the idle-share columns of ``tenant_usage_monthly`` under the tariff's idle policy.

    Per site, GPU model and month the ``idle`` line's GPU-hours, energy and cost are shared out to the AI and
    RAN tenants that held such GPUs that month: equally (``even``) or by their GPU-hours (``weighted``); the
    idle line carries the negative, so each column sums to zero. ``separate`` (or nobody to share with) leaves
    idle as the operator's own line.
    """
    shares = ["idle_share_gpu_hours", "idle_share_energy_kwh", "idle_share_cost"]
    # Nothing shared: zero, but an unpriced line (no tariff) has no cost share either, so NULL there.
    zero = [
        pl.lit(0.0).alias(shares[0]),
        pl.lit(0.0).alias(shares[1]),
        pl.when(pl.col("cost").is_null()).then(None).otherwise(0.0).alias(shares[2]),
    ]
    if monthly.is_empty() or policy == "separate":
        return monthly.with_columns(*zero, pl.lit(policy).alias("idle_policy"))
    group = ["month", "site", "model"]
    recipient = pl.col("kind").is_in(["ai", "ran"]) & (pl.col("gpu_hours") > 0)
    idle = (
        monthly.filter(pl.col("tenant") == IDLE)
        .group_by(group)
        .agg(
            pl.col("gpu_hours").sum().alias("__idle_h"),
            pl.col("gpu_energy_kwh").sum().alias("__idle_kwh"),
            pl.col("cost").sum().alias("__idle_cost"),
            pl.col("cost").is_null().all().alias("__no_cost"),
        )
    )
    weight = pl.when(recipient).then(1.0 if policy == "even" else pl.col("gpu_hours")).otherwise(0.0).alias("__w")
    rows = monthly.with_columns(weight).with_columns(pl.col("__w").sum().over(group).alias("__wsum"))
    rows = rows.join(idle, on=group, how="left", maintain_order="left").with_columns(
        pl.col("__idle_h", "__idle_kwh", "__idle_cost").fill_null(0.0)
    )
    frac = pl.when(pl.col("__wsum") > 0).then(pl.col("__w") / pl.col("__wsum")).otherwise(0.0)
    given = (pl.col("tenant") == IDLE) & (pl.col("__wsum") > 0)
    cost_share = pl.when(pl.col("__no_cost").fill_null(True)).then(None)
    return rows.with_columns(
        pl.when(given).then(-pl.col("gpu_hours")).otherwise(pl.col("__idle_h") * frac).alias(shares[0]),
        pl.when(given).then(-pl.col("gpu_energy_kwh")).otherwise(pl.col("__idle_kwh") * frac).alias(shares[1]),
        cost_share.when(given).then(-pl.col("cost")).otherwise(pl.col("__idle_cost") * frac).alias(shares[2]),
        pl.lit(policy).alias("idle_policy"),
    ).drop("__w", "__wsum", "__idle_h", "__idle_kwh", "__idle_cost", "__no_cost")


AI_RAN_SHARE_SQL = """
WITH u AS (
    SELECT hour, site,
        sum(gpu_hours) AS gpu_hours,
        coalesce(sum(gpu_hours) FILTER (WHERE kind = 'ran'), 0) AS ran_gpu_hours,
        coalesce(sum(gpu_hours) FILTER (WHERE kind = 'ai'), 0) AS ai_gpu_hours,
        coalesce(sum(gpu_hours) FILTER (WHERE kind = 'unattributed'), 0) AS unattributed_gpu_hours,
        coalesce(sum(gpu_hours) FILTER (WHERE kind = 'idle'), 0) AS idle_gpu_hours,
        coalesce(sum(busy_gpu_hours) FILTER (WHERE kind = 'ran'), 0) AS ran_busy_gpu_hours,
        coalesce(sum(busy_gpu_hours) FILTER (WHERE kind = 'ai'), 0) AS ai_busy_gpu_hours,
        sum(gpu_energy_kwh) AS gpu_energy_kwh,
        coalesce(sum(gpu_energy_kwh) FILTER (WHERE kind = 'ran'), 0) AS ran_energy_kwh,
        coalesce(sum(gpu_energy_kwh) FILTER (WHERE kind = 'ai'), 0) AS ai_energy_kwh,
        coalesce(sum(gpu_energy_kwh) FILTER (WHERE kind = 'unattributed'), 0) AS unattributed_energy_kwh,
        coalesce(sum(gpu_energy_kwh) FILTER (WHERE kind = 'idle'), 0) AS idle_energy_kwh
    FROM tenant_usage_hourly WHERE hour >= ? AND hour < ? GROUP BY ALL
), c AS (
    SELECT hour, site, count(*) AS cells,
        sum(prb_util_dl_ratio * covered_s)
            / nullif(sum(CASE WHEN prb_util_dl_ratio IS NOT NULL THEN covered_s END), 0) AS prb_util_dl_ratio,
        sum(prb_util_ul_ratio * covered_s)
            / nullif(sum(CASE WHEN prb_util_ul_ratio IS NOT NULL THEN covered_s END), 0) AS prb_util_ul_ratio,
        sum(volume_dl_mbit) AS volume_dl_mbit,
        sum(volume_ul_mbit) AS volume_ul_mbit
    FROM ran_cell_hourly WHERE hour >= ? AND hour < ? GROUP BY ALL
)
SELECT u.*,
    u.ran_gpu_hours / nullif(u.gpu_hours, 0) AS ran_share_ratio,
    u.ai_gpu_hours / nullif(u.gpu_hours, 0) AS ai_share_ratio,
    u.idle_gpu_hours / nullif(u.gpu_hours, 0) AS idle_share_ratio,
    u.ran_gpu_hours / nullif(u.ran_gpu_hours + u.ai_gpu_hours + u.unattributed_gpu_hours, 0)
        AS ran_share_of_allocated_ratio,
    coalesce(c.cells, 0) AS cells,
    c.prb_util_dl_ratio, c.prb_util_ul_ratio, c.volume_dl_mbit, c.volume_ul_mbit,
    CASE WHEN c.cells IS NOT NULL THEN (coalesce(c.volume_dl_mbit, 0) + coalesce(c.volume_ul_mbit, 0)) * 1e6
        / nullif(u.ran_energy_kwh * 3.6e6, 0) END AS ran_bit_per_gpu_j
FROM u LEFT JOIN c USING (hour, site)
ORDER BY u.hour, u.site
"""

KINDS = ("ai", "ran", IDLE, UNATTRIBUTED)

"""Tenancy tables: GPU time, energy and cost per tenant, with idle and unattributed lines, and the AI-RAN split.

The invariant every row set keeps: summed over tenants including ``idle`` and ``unattributed``, GPU-hours and
GPU energy equal the metered totals of ``gpu_hourly`` for the same site and period.
"""

from __future__ import annotations

from pipelines.tables.base import Column, Table, cols

#: Usage columns shared by the hourly, daily and monthly tenant marts (after their time column).
_USAGE = cols(
    ("site", "VARCHAR"),
    ("tenant", "VARCHAR"),
    ("model", "VARCHAR", "GPU model ('unknown' if no collector reported it)"),
    ("kind", "VARCHAR", "ai | ran | idle | unattributed"),
    ("gpu_hours", "DOUBLE", "GPU-hours held (allocated); MIG slices count their fraction of the board"),
    ("busy_gpu_hours", "DOUBLE", "GPU-hours × utilisation"),
    ("utilisation_ratio", "DOUBLE", "busy / allocated GPU-hours"),
    ("reserved_gpu_hours", "DOUBLE", "part of gpu_hours held through a reservation (billed used or not)"),
    ("gpu_energy_kwh", "DOUBLE", "metered GPU energy while held, split by share"),
    ("pue", "DOUBLE", "PUE applied: the site's hourly PUE (period PUE = facility / GPU energy for days, months)"),
    ("overhead_kwh", "DOUBLE", "PUE uplift: gpu_energy_kwh × (PUE − 1), the facility's cooling and losses"),
    ("facility_energy_kwh", "DOUBLE", "gpu_energy_kwh × PUE (NULL while the PUE is unknown)"),
    ("hours_without_pue", "DOUBLE", "GPU-hours in hours without a PUE (their energy is priced at GPU energy)"),
    ("currency", "VARCHAR", "ISO 4217 code of the tariff"),
    ("gpu_hour_cost", "DOUBLE", "gpu_hours × the tariff's price for the GPU model"),
    ("energy_cost", "DOUBLE", "facility kWh (GPU kWh where PUE unknown) × the energy price"),
    ("cost", "DOUBLE", "gpu_hour_cost + energy_cost; NULL without a tariff"),
)

GPU_TENANT_HOURLY = Table(
    name="gpu_tenant_hourly",
    description=(
        "Who held each GPU (or MIG instance) in each hour and for how long: the attribution behind every tenant "
        "figure. gpu_instance_id is NULL for a whole GPU and for the unused remainder of a MIG-split GPU."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "gpu_uuid", "gpu_instance_id", "tenant", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("node", "VARCHAR"),
        ("gpu_uuid", "VARCHAR"),
        ("gpu_instance_id", "INTEGER"),
        ("model", "VARCHAR"),
        ("tenant", "VARCHAR"),
        ("gpu_hours", "DOUBLE"),
        ("busy_gpu_hours", "DOUBLE"),
        ("reserved_gpu_hours", "DOUBLE"),
        ("energy_kwh", "DOUBLE"),
    ),
)

TENANT_USAGE_HOURLY = Table(
    name="tenant_usage_hourly",
    description=(
        "GPU-hours, busy GPU-hours, energy with PUE uplift and cost per tenant, site, GPU model and hour. Tenants "
        "'idle' (nobody held the GPU) and 'unattributed' (held, but no tenant rule matched) make the sum equal "
        "the metered GPU time and energy."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "tenant", "model", "hour"),
    columns=(
        Column("hour", "TIMESTAMP"),
        *_USAGE,
        *cols(
            ("gpu_hour_price", "DOUBLE", "price of one GPU-hour of this model in this hour"),
            ("energy_price", "DOUBLE", "price of one kWh in this hour"),
        ),
    ),
)

TENANT_USAGE_DAILY = Table(
    name="tenant_usage_daily",
    description="Daily usage, energy and cost per tenant, site and GPU model (sums of the hourly rows).",
    time_column="day",
    grain="day",
    key=("site", "tenant", "model", "day"),
    columns=(Column("day", "DATE"), *_USAGE),
)

TENANT_USAGE_MONTHLY = Table(
    name="tenant_usage_monthly",
    description=(
        "Monthly usage, energy and cost per tenant, site and GPU model (sums of the daily rows; the current month "
        "to date), with the tariff's idle policy applied in the idle_share columns: what each tenant's statement "
        "shows. Σ(gpu_hours + idle_share_gpu_hours) over all rows equals the metered GPU-hours."
    ),
    key=("site", "tenant", "model", "month"),
    columns=(
        Column("month", "DATE", "first day of the UTC month"),
        *_USAGE,
        *cols(
            ("days", "BIGINT", "days of the month with usage rows"),
            ("idle_policy", "VARCHAR", "separate | even | weighted (from tariff.yaml; separate without one)"),
            ("idle_share_gpu_hours", "DOUBLE", "idle GPU-hours shared to this tenant (negative on the idle line)"),
            ("idle_share_energy_kwh", "DOUBLE", "idle GPU energy shared to this tenant"),
            ("idle_share_cost", "DOUBLE", "cost of the idle capacity shared to this tenant"),
        ),
    ),
)

AI_RAN_SHARE_HOURLY = Table(
    name="ai_ran_share_hourly",
    description=(
        "How each site's GPU fleet splits between the RAN, AI tenants, unattributed use and idle, per hour, in "
        "GPU-hours and energy, with the RAN cells' load beside it."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("gpu_hours", "DOUBLE", "all metered GPU-hours"),
        ("ran_gpu_hours", "DOUBLE"),
        ("ai_gpu_hours", "DOUBLE"),
        ("unattributed_gpu_hours", "DOUBLE"),
        ("idle_gpu_hours", "DOUBLE"),
        ("ran_busy_gpu_hours", "DOUBLE"),
        ("ai_busy_gpu_hours", "DOUBLE"),
        ("gpu_energy_kwh", "DOUBLE"),
        ("ran_energy_kwh", "DOUBLE"),
        ("ai_energy_kwh", "DOUBLE"),
        ("unattributed_energy_kwh", "DOUBLE"),
        ("idle_energy_kwh", "DOUBLE"),
        ("ran_share_ratio", "DOUBLE", "RAN GPU-hours / all GPU-hours"),
        ("ai_share_ratio", "DOUBLE", "AI tenants' GPU-hours / all GPU-hours"),
        ("idle_share_ratio", "DOUBLE"),
        ("ran_share_of_allocated_ratio", "DOUBLE", "RAN / (RAN + AI + unattributed) GPU-hours"),
        ("cells", "BIGINT", "cells reporting PM counters in the hour"),
        ("prb_util_dl_ratio", "DOUBLE", "mean DL PRB utilisation of the site's cells, weighted by covered time"),
        ("prb_util_ul_ratio", "DOUBLE"),
        ("volume_dl_mbit", "DOUBLE", "PDCP SDU volume DL, all cells"),
        ("volume_ul_mbit", "DOUBLE"),
        ("ran_bit_per_gpu_j", "DOUBLE", "RAN data volume per joule of GPU energy the RAN used"),
    ),
)

DIM_TENANT = Table(
    name="dim_tenant",
    description="Tenants from tenants.yaml plus the reserved 'idle' and 'unattributed' lines, with their rules.",
    key=("tenant",),
    columns=cols(
        ("tenant", "VARCHAR"),
        ("name", "VARCHAR"),
        ("kind", "VARCHAR", "ai | ran | idle | unattributed"),
        ("rules", "VARCHAR", "how the tenant is recognised, in rule order (for statements and audits)"),
    ),
)

DIM_TARIFF = Table(
    name="dim_tariff",
    description="Prices from tariff.yaml, in file order: every cost in the tenant marts comes from one of these.",
    key=("item", "position"),
    columns=cols(
        ("item", "VARCHAR", "energy | gpu_hour"),
        ("position", "INTEGER", "entry number in the file (first match wins)"),
        ("sites", "VARCHAR", "site globs, comma-separated"),
        ("model", "VARCHAR", "GPU model glob ('*' for energy)"),
        ("price", "DOUBLE"),
        ("unit", "VARCHAR", "kWh | GPU-hour"),
        ("currency", "VARCHAR"),
        ("valid_from", "TIMESTAMP"),
        ("valid_until", "TIMESTAMP"),
        ("idle_policy", "VARCHAR"),
    ),
)

TABLES = (
    GPU_TENANT_HOURLY,
    TENANT_USAGE_HOURLY,
    TENANT_USAGE_DAILY,
    TENANT_USAGE_MONTHLY,
    AI_RAN_SHARE_HOURLY,
    DIM_TENANT,
    DIM_TARIFF,
)

"""Tenancy tables: GPU time and energy per tenant, with idle and unattributed lines."""

from __future__ import annotations

from pipelines.tables.base import Table, cols

TENANT_USAGE_HOURLY = Table(
    name="tenant_usage_hourly",
    description=(
        "GPU-hours, busy GPU-hours and energy per tenant, site and hour. Tenants 'idle' (nobody held the "
        "GPU) and 'unattributed' (held, but no tenant rule matched) make the sum equal the metered GPU energy."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "tenant", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("tenant", "VARCHAR"),
        ("gpu_hours", "DOUBLE", "GPU-hours held (allocated)"),
        ("busy_gpu_hours", "DOUBLE", "GPU-hours × utilisation"),
        ("gpu_energy_kwh", "DOUBLE", "metered GPU energy while held"),
        ("pue", "DOUBLE", "the site's PUE for the hour (NULL if unknown)"),
        ("facility_energy_kwh", "DOUBLE", "GPU energy with facility overhead: gpu_energy_kwh × PUE"),
    ),
)

TENANT_USAGE_DAILY = Table(
    name="tenant_usage_daily",
    description="Daily GPU-hours and energy per tenant and site (sum of the hourly rows).",
    time_column="day",
    grain="day",
    key=("site", "tenant", "day"),
    columns=cols(
        ("day", "DATE"),
        ("site", "VARCHAR"),
        ("tenant", "VARCHAR"),
        ("gpu_hours", "DOUBLE"),
        ("busy_gpu_hours", "DOUBLE"),
        ("utilisation_ratio", "DOUBLE", "busy / allocated GPU-hours"),
        ("gpu_energy_kwh", "DOUBLE"),
        ("facility_energy_kwh", "DOUBLE"),
    ),
)

DIM_TENANT = Table(
    name="dim_tenant",
    description="Tenants from tenants.yaml plus the reserved 'idle' and 'unattributed' lines.",
    key=("tenant",),
    columns=cols(
        ("tenant", "VARCHAR"),
        ("name", "VARCHAR"),
        ("kind", "VARCHAR", "ai | ran | idle | unattributed"),
    ),
)

TABLES = (TENANT_USAGE_HOURLY, TENANT_USAGE_DAILY, DIM_TENANT)

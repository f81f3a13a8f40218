"""Facility tables: meter readings, energy per meter and hour, PUE per site and period."""

from __future__ import annotations

from pipelines.tables.base import Table, cols

METER_READING = Table(
    name="meter_reading",
    description="Facility meter readings (registers and/or power) as landed, with the meter's role.",
    time_column="ts",
    grain="hour",
    serving=False,
    key=("site", "meter_id", "ts"),
    columns=cols(
        ("ts", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("meter_id", "VARCHAR"),
        ("role", "VARCHAR"),
        ("energy_kwh", "DOUBLE", "cumulative register"),
        ("power_w", "DOUBLE"),
        ("register_reset_at", "TIMESTAMP"),
        ("source", "VARCHAR"),
        ("producer", "VARCHAR"),
    ),
)

METER_ENERGY_HOURLY = Table(
    name="meter_energy_hourly",
    description="Energy per meter and hour from register deltas (resets, wraps and gaps handled).",
    time_column="hour",
    grain="hour",
    key=("site", "meter_id", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("meter_id", "VARCHAR"),
        (
            "role",
            "VARCHAR",
            "facility_total | ups_output | pdu_output | it_input | cooling | lighting | other",
        ),
        ("energy_kwh", "DOUBLE"),
        ("covered_s", "DOUBLE", "seconds of the hour with a measured (not interpolated) value"),
        ("coverage_ratio", "DOUBLE"),
        ("resets", "BIGINT", "register resets or wraps seen"),
        ("interpolated", "BOOLEAN", "energy spread across a gap"),
    ),
)

PUE_HOURLY = Table(
    name="pue_hourly",
    description="PUE per site and hour = facility energy / IT energy over the same hour (never a mean of ratios).",
    time_column="hour",
    grain="hour",
    key=("site", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("facility_kwh", "DOUBLE", "total facility energy (utility side)"),
        ("it_kwh", "DOUBLE", "IT energy at the category's metering point"),
        ("gpu_kwh", "DOUBLE", "GPU energy from the GPU collectors"),
        ("other_it_kwh", "DOUBLE", "IT energy that is not GPU (CPUs, fans, network, storage)"),
        ("cooling_kwh", "DOUBLE"),
        ("pue", "DOUBLE"),
        ("cooling_ppue", "DOUBLE", "partial PUE of cooling: (IT + cooling) / IT"),
        ("category", "INTEGER", "1 UPS output, 2 PDU output, 3 IT equipment input"),
        ("coverage_ratio", "DOUBLE", "share of the hour both sides were measured"),
        ("low_coverage", "BOOLEAN"),
        (
            "checks_failed",
            "VARCHAR",
            "NULL, or '; '-joined: missing_facility, missing_it, pue_below_1 (PUE left NULL), gpu_exceeds_it",
        ),
    ),
)

PUE_DAILY = Table(
    name="pue_daily",
    description="PUE per site and UTC day from summed energies.",
    time_column="day",
    grain="day",
    key=("site", "day"),
    columns=cols(
        ("day", "DATE"),
        ("site", "VARCHAR"),
        ("facility_kwh", "DOUBLE"),
        ("it_kwh", "DOUBLE"),
        ("gpu_kwh", "DOUBLE"),
        ("cooling_kwh", "DOUBLE"),
        ("pue", "DOUBLE"),
        ("category", "INTEGER"),
        ("coverage_ratio", "DOUBLE"),
        ("low_coverage", "BOOLEAN"),
        ("other_it_kwh", "DOUBLE", "IT energy that is not GPU"),
        ("cooling_ppue", "DOUBLE", "(IT + cooling) / IT over the hours with cooling metered"),
        ("hours_used", "BIGINT", "hours with a valid PUE that entered the sums"),
    ),
)

PUE_MONTHLY = Table(
    name="pue_monthly",
    description="PUE per site and UTC month from summed energies of the hours with a valid PUE.",
    time_column="month",
    grain="month",
    key=("site", "month"),
    columns=cols(
        ("month", "DATE", "first day of the UTC month"),
        ("site", "VARCHAR"),
        ("facility_kwh", "DOUBLE"),
        ("it_kwh", "DOUBLE"),
        ("gpu_kwh", "DOUBLE"),
        ("cooling_kwh", "DOUBLE"),
        ("pue", "DOUBLE"),
        ("category", "INTEGER", "lowest category among the hours used"),
        ("coverage_ratio", "DOUBLE", "measured hours / hours in the month"),
        ("low_coverage", "BOOLEAN"),
        ("other_it_kwh", "DOUBLE"),
        ("cooling_ppue", "DOUBLE"),
        ("hours_used", "BIGINT"),
    ),
)

PUE_ROLLING_12M = Table(
    name="pue_rolling_12m",
    description=(
        "Trailing-twelve-month PUE per site, for the 12 UTC months ending with `month`: the annualised "
        "headline figure. window_type 'ttm' needs the coverage threshold, else 'interim'."
    ),
    time_column="month",
    grain="month",
    key=("site", "month"),
    columns=cols(
        ("month", "DATE", "last month of the window"),
        ("site", "VARCHAR"),
        ("window_start", "DATE", "first month of the window"),
        ("facility_kwh", "DOUBLE"),
        ("it_kwh", "DOUBLE"),
        ("gpu_kwh", "DOUBLE"),
        ("cooling_kwh", "DOUBLE"),
        ("pue", "DOUBLE"),
        ("category", "INTEGER", "lowest category among the months used"),
        ("coverage_ratio", "DOUBLE", "measured hours / hours in the 12 months"),
        ("low_coverage", "BOOLEAN"),
        ("window_type", "VARCHAR", "ttm | interim"),
        ("months_used", "BIGINT"),
    ),
)

TABLES = (METER_READING, METER_ENERGY_HOURLY, PUE_HOURLY, PUE_DAILY, PUE_MONTHLY, PUE_ROLLING_12M)

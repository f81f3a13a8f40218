"""PUE from metered energy, the way ISO/IEC 30134-2 and The Green Grid define it (pure Polars).

PUE = E_DC / E_IT over the same period: a ratio of *summed energies*, never a mean of ratios. Every value
carries its category (where IT energy was metered: 1 UPS output, 2 PDU output, 3 IT equipment input) and
its coverage (share of the time both sides were measured). A ratio below 1 is impossible by definition,
so it is reported as a failed check with a null PUE, never as a value.

Time: every ``hour`` this module returns is a naive UTC datetime (the warehouse convention); inputs may be
naive (taken as UTC) or time-zone aware. Days and months are UTC days and months.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from collectors.facility.registry import ROLE_CATEGORY, MeterRegistry
from pipelines.lib.counters import power_intervals, register_intervals, spread_hourly
from pipelines.tables import Table
from pipelines.tables.facility import METER_ENERGY_HOURLY, PUE_DAILY, PUE_HOURLY, PUE_MONTHLY, PUE_ROLLING_12M

#: Without a declared ``interval_s``, a gap is an interval longer than this many times the meter's median.
GAP_FACTOR = 3.0
J_PER_KWH = 3.6e6
_SERIES = ["site", "meter_id"]
_IT_ROLES = list(ROLE_CATEGORY)


def meter_energy_hourly(
    readings: pl.DataFrame,
    registry: MeterRegistry,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pl.DataFrame:
    """Energy per meter and UTC hour (``METER_ENERGY_HOURLY`` columns) from ``facility`` landing rows.

    Pass the readings of the hours wanted plus the last reading before and the first after them, and
    ``start``/``end`` to keep only the hours in [start, end). Registers (``energy_kwh``) go through
    :func:`register_intervals` with the meter's wrap point and rating cap; power-only meters (``power_w``)
    are integrated. Meters missing from the registry still get their energy, with a null role. Quantity,
    wrap point and rating come from the registry entry valid at each reading; the role from the entry valid
    at the start of each hour.
    """
    if readings.is_empty():
        return _empty(METER_ENERGY_HOURLY)
    optional = {"energy_kwh": pl.Float64(), "power_w": pl.Float64(), "register_reset_at": pl.Datetime("us", "UTC")}
    readings = readings.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in optional.items() if name not in readings.columns
    )
    rows = _with_meter(_utc(readings, ["ts", "register_reset_at"]), registry)
    is_register = pl.when(pl.col("quantity").is_not_null()).then(pl.col("quantity") == "energy_register")
    rows = rows.with_columns(
        __register=is_register.otherwise(pl.col("energy_kwh").is_not_null().any().over(_SERIES)),
    )
    rows = rows.with_columns(__max_gap=_max_gap())
    registers = rows.filter(pl.col("__register"))
    gauges = rows.filter(~pl.col("__register"))
    parts = []
    if not registers.is_empty():
        intervals = register_intervals(
            registers,
            series=_SERIES,
            register="energy_kwh",
            reset_at="register_reset_at",
            wrap_at="wrap_kwh",
            max_power_w="max_power_w",
            max_gap_s="__max_gap",
        )
        parts.append(spread_hourly(intervals, series=_SERIES))
    if not gauges.is_empty():
        intervals = power_intervals(gauges, series=_SERIES, power="power_w", max_gap_s="__max_gap")
        hourly = spread_hourly(intervals, series=_SERIES)
        parts.append(hourly.with_columns(pl.col("energy") / J_PER_KWH))
    if not parts:
        return _empty(METER_ENERGY_HOURLY)
    hourly = pl.concat(parts, how="vertical").with_columns(pl.col("hour").dt.replace_time_zone(None))
    hourly = _role_by_hour(hourly, registry)
    out = hourly.select(
        "hour",
        "site",
        "meter_id",
        "role",
        pl.col("energy").alias("energy_kwh"),
        "covered_s",
        (pl.col("covered_s") / 3600.0).alias("coverage_ratio"),
        pl.col("resets").cast(pl.Int64),
        "interpolated",
    )
    return _conform(_window(out, "hour", start, end), METER_ENERGY_HOURLY).sort("site", "meter_id", "hour")


def pue_hourly(meter_hourly: pl.DataFrame, gpu_kwh: pl.DataFrame, *, low_coverage_below: float = 0.9) -> pl.DataFrame:
    """PUE per site and hour (``PUE_HOURLY`` columns) from :func:`meter_energy_hourly` rows.

    E_DC = Σ ``facility_total`` meters; E_IT = Σ meters of the best IT metering point that has data in that
    hour (``it_input`` 3 > ``pdu_output`` 2 > ``ups_output`` 1), whose category is stored on the row. The
    coverage of a side is the lowest coverage of its meters; the row's coverage is the lower of the two
    sides. ``gpu_kwh`` (site, hour, gpu_kwh) splits IT energy into GPU and the rest.
    """
    mh = _naive_utc(meter_hourly, "hour").filter(pl.col("role").is_not_null())
    if mh.is_empty():
        return _empty(PUE_HOURLY)
    by_role = mh.group_by("site", "hour", "role").agg(
        pl.when(pl.col("energy_kwh").count() > 0).then(pl.col("energy_kwh").sum()).alias("e"),
        pl.col("coverage_ratio").fill_null(0.0).min().alias("cov"),
    )
    by_role = by_role.with_columns(category=pl.col("role").replace_strict(ROLE_CATEGORY, default=None).cast(pl.Int32))

    def side(role: str, name: str) -> pl.Expr:
        return pl.col(name).filter(pl.col("role") == role).first()

    sites = by_role.group_by("site", "hour").agg(
        side("facility_total", "e").alias("facility_kwh"),
        side("facility_total", "cov").alias("__fac_cov"),
        side("cooling", "e").alias("cooling_kwh"),
        pl.col("category").filter(pl.col("e").is_not_null()).max().alias("category"),
    )
    it = by_role.filter(pl.col("category").is_not_null()).select(
        "site", "hour", "category", pl.col("e").alias("it_kwh"), pl.col("cov").alias("__it_cov")
    )
    gpu = _naive_utc(gpu_kwh, "hour").group_by("site", "hour").agg(pl.col("gpu_kwh").sum())
    frame = (
        sites.join(it, on=["site", "hour", "category"], how="left", nulls_equal=False)
        .join(gpu, on=["site", "hour"], how="left")
        .with_columns(
            coverage_ratio=pl.min_horizontal(pl.col("__fac_cov").fill_null(0.0), pl.col("__it_cov").fill_null(0.0))
        )
    )
    frame = _ratios(frame, low_coverage_below).with_columns(
        other_it_kwh=pl.when(pl.col("it_kwh") >= pl.col("gpu_kwh")).then(pl.col("it_kwh") - pl.col("gpu_kwh")),
    )
    checks = pl.concat_list(
        pl.when(pl.col("facility_kwh").is_null()).then(pl.lit("missing_facility")),
        pl.when(pl.col("it_kwh").is_null() | (pl.col("it_kwh") <= 0)).then(pl.lit("missing_it")),
        pl.when(pl.col("__raw") < 1).then(pl.lit("pue_below_1")),
        pl.when(pl.col("gpu_kwh") > pl.col("it_kwh")).then(pl.lit("gpu_exceeds_it")),
    ).list.drop_nulls()
    frame = frame.with_columns(
        checks_failed=pl.when(checks.list.len() > 0).then(checks.list.join("; ")),
    )
    return _conform(frame, PUE_HOURLY).sort("site", "hour")


def pue_rollup(
    pue_hourly: pl.DataFrame, grain: Literal["day", "month"], *, low_coverage_below: float = 0.9
) -> pl.DataFrame:
    """PUE per site and UTC day or month from summed hourly energies (``PUE_DAILY`` / ``PUE_MONTHLY``).

    Only hours with a valid PUE (both sides present, ratio ≥ 1) enter the sums, so a missing side never
    biases the ratio; coverage is the measured share of *all* hours of the period, so missing hours lower
    it. The category is the lowest of the hours used (the weakest metering point in the period).
    """
    table = PUE_DAILY if grain == "day" else PUE_MONTHLY
    period = "day" if grain == "day" else "month"
    hourly = _naive_utc(pue_hourly, "hour")
    if hourly.is_empty():
        return _empty(table)
    start = pl.col("hour").dt.truncate("1d" if grain == "day" else "1mo").dt.date()
    hourly = hourly.with_columns(start.alias(period))
    out = _sum_valid(hourly, [period]).with_columns(
        __hours=pl.lit(24.0) if grain == "day" else pl.col(period).dt.month_end().dt.day().cast(pl.Float64) * 24.0
    )
    out = out.with_columns(coverage_ratio=pl.col("__covered_h") / pl.col("__hours"))
    return _conform(_ratios(out, low_coverage_below), table).sort("site", period)


def pue_rolling_12m(pue_monthly: pl.DataFrame, *, low_coverage_below: float = 0.9) -> pl.DataFrame:
    """Trailing-twelve-month PUE per site and month (``PUE_ROLLING_12M``) from :func:`pue_rollup` months.

    Sums of the twelve calendar months ending with ``month`` (months absent from the input count as
    unmeasured). ``window_type`` is ``ttm`` when coverage reaches ``low_coverage_below`` and ``interim``
    otherwise — an annual PUE is not claimed on partial data.
    """
    if pue_monthly.is_empty():
        return _empty(PUE_ROLLING_12M)
    monthly = pue_monthly.with_columns(
        __covered_h=pl.col("coverage_ratio").fill_null(0.0) * pl.col("month").dt.month_end().dt.day() * 24.0,
        __last=pl.col("month").max().over("site"),
    )
    offsets = pl.DataFrame({"__k": [f"{k}mo" for k in range(12)]})
    expanded = (
        monthly.join(offsets, how="cross")
        .with_columns(__target_month=pl.col("month").dt.offset_by(pl.col("__k")))
        .filter(pl.col("__target_month") <= pl.col("__last"))
    )
    measured = pl.col("pue").is_not_null()
    out = expanded.group_by("site", "__target_month").agg(
        *(pl.col(c).filter(measured).sum().alias(c) for c in ("facility_kwh", "it_kwh", "gpu_kwh", "cooling_kwh")),
        pl.col("category").filter(measured).min().alias("category"),
        pl.col("__covered_h").sum().alias("__covered_h"),
        measured.sum().cast(pl.Int64).alias("months_used"),
    )
    out = out.rename({"__target_month": "month"}).with_columns(
        window_start=pl.col("month").dt.offset_by("-11mo"),
    )
    hours = (pl.col("month").dt.offset_by("1mo") - pl.col("window_start")).dt.total_hours().cast(pl.Float64)
    out = out.with_columns(coverage_ratio=pl.col("__covered_h") / hours)
    out = _ratios(out, low_coverage_below, sums_only=True).with_columns(
        window_type=pl.when(pl.col("low_coverage")).then(pl.lit("interim")).otherwise(pl.lit("ttm")),
    )
    return _conform(out, PUE_ROLLING_12M).sort("site", "month")


# -- internals -----------------------------------------------------------------------------------------


def _sum_valid(hourly: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    valid = pl.col("pue").is_not_null()
    with_cooling = valid & pl.col("cooling_kwh").is_not_null()
    return hourly.group_by("site", *keys).agg(
        *(
            pl.when(pl.col(c).filter(valid).count() > 0).then(pl.col(c).filter(valid).sum()).alias(c)
            for c in ("facility_kwh", "it_kwh", "gpu_kwh", "other_it_kwh", "cooling_kwh")
        ),
        pl.col("it_kwh").filter(with_cooling).sum().alias("__it_cooled"),
        pl.col("category").filter(valid).min().alias("category"),
        pl.col("coverage_ratio").filter(valid).sum().alias("__covered_h"),
        valid.sum().cast(pl.Int64).alias("hours_used"),
    )


def _ratios(frame: pl.DataFrame, low_coverage_below: float, *, sums_only: bool = False) -> pl.DataFrame:
    """``pue`` (null below 1), ``cooling_ppue`` and the ``low_coverage`` flag from summed energies."""
    raw = pl.when(pl.col("it_kwh") > 0).then(pl.col("facility_kwh") / pl.col("it_kwh"))
    it_cooled = pl.col("it_kwh") if sums_only or "__it_cooled" not in frame.columns else pl.col("__it_cooled")
    frame = frame.with_columns(__raw=raw, __itc=it_cooled)
    return frame.with_columns(
        pue=pl.when(pl.col("__raw") >= 1).then(pl.col("__raw")),
        cooling_ppue=pl.when((pl.col("__itc") > 0) & pl.col("cooling_kwh").is_not_null()).then(
            (pl.col("__itc") + pl.col("cooling_kwh")) / pl.col("__itc")
        ),
        low_coverage=pl.col("coverage_ratio").fill_null(0.0) < low_coverage_below,
    )


def _with_meter(readings: pl.DataFrame, registry: MeterRegistry) -> pl.DataFrame:
    """Attach the registry entry valid at each reading's time (null columns for unregistered readings)."""
    reg = registry.frame().drop("site", "role", "category", "unit", "zone")
    joined = readings.join(reg, on="meter_id", how="inner")
    valid = (pl.col("valid_from").is_null() | (pl.col("ts") >= pl.col("valid_from"))) & (
        pl.col("valid_to").is_null() | (pl.col("ts") < pl.col("valid_to"))
    )
    matched = joined.filter(valid).drop("valid_from", "valid_to")
    unmatched = readings.join(matched.select("site", "meter_id", "ts"), on=["site", "meter_id", "ts"], how="anti")
    return pl.concat([matched, unmatched], how="diagonal_relaxed")


def _max_gap() -> pl.Expr:
    """Declared interval × 3, else 3 × the meter's median interval in this batch (duplicates ignored)."""
    step = pl.col("ts").sort().diff().dt.total_microseconds()
    median = step.filter(step > 0).median().over(_SERIES) / 1e6
    return pl.coalesce(pl.col("interval_s"), median) * GAP_FACTOR


def _role_by_hour(hourly: pl.DataFrame, registry: MeterRegistry) -> pl.DataFrame:
    reg = registry.frame().select("meter_id", "role", "valid_from", "valid_to")
    reg = reg.with_columns(pl.col("valid_from", "valid_to").dt.replace_time_zone(None))
    joined = hourly.join(reg, on="meter_id", how="left")
    valid = (pl.col("valid_from").is_null() | (pl.col("hour") >= pl.col("valid_from"))) & (
        pl.col("valid_to").is_null() | (pl.col("hour") < pl.col("valid_to"))
    )
    keyed = joined.with_columns(role=pl.when(valid).then(pl.col("role")))
    # One row per meter-hour: the valid entry's role if any, else null.
    return keyed.sort(pl.col("role").is_null()).unique(subset=["site", "meter_id", "hour"], keep="first")


def _utc(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    fixes = []
    for c in columns:
        dtype = frame.schema.get(c)
        if isinstance(dtype, pl.Datetime):
            col = pl.col(c).dt.cast_time_unit("us")
            fixes.append(
                col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
            )
    return frame.with_columns(fixes) if fixes else frame


def _naive_utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema.get(column)
    if isinstance(dtype, pl.Datetime):
        col = pl.col(column).dt.cast_time_unit("us")
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return frame.with_columns(col)
    return frame


def _window(frame: pl.DataFrame, column: str, start: dt.datetime | None, end: dt.datetime | None) -> pl.DataFrame:
    def naive(value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value

    if start is not None:
        frame = frame.filter(pl.col(column) >= naive(start))
    if end is not None:
        frame = frame.filter(pl.col(column) < naive(end))
    return frame


_POLARS_TYPES: dict[str, pl.DataType] = {
    "TIMESTAMP": pl.Datetime("us"),
    "DATE": pl.Date(),
    "VARCHAR": pl.String(),
    "DOUBLE": pl.Float64(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "BOOLEAN": pl.Boolean(),
}


def _schema(table: Table) -> pl.Schema:
    return pl.Schema({c.name: _POLARS_TYPES[c.type] for c in table.columns})


def _conform(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Exactly the table's declared columns, in order, with its types."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in _schema(table).items())


def _empty(table: Table) -> pl.DataFrame:
    return pl.DataFrame(schema=_schema(table))

"""Energy from cumulative counters and power gauges, per series and per UTC hour (pure Polars).

Used for facility kWh registers, GPU energy counters (NVML/DCGM, which restart on driver reload) and RAN
cumulative energy alike, so nothing here knows about meters or GPUs: a *series* is whatever columns
identify one counter, a *register* is a column that only grows until it resets or wraps.

The rules (see ``docs/facility.md``):

* Duplicates (same series and timestamp) collapse first; for a register the largest value wins (a stale
  copy is never larger; among equal values the latest reset time), for a gauge the mean.
* A single reading that lies outside the range of its two neighbours while the neighbours themselves are
  in order (``100, 9999, 101`` or ``100, 0, 101``) is a glitch: it is skipped and the interval bridges it.
* ``delta``: the register grew; energy = new - old (exact, however long the interval).
* ``reset``: it dropped or the source's reset time changed. When the reset time is known to fall inside
  the interval the new value is the energy since the reset (exact from then on); otherwise it is a lower
  bound and flagged ``lower_bound``.
* ``wrap``: it dropped, the register's modulus is known and the wrapped delta is plausible:
  energy = (modulus - old) + new.
* ``rejected``: the energy implies a power above the cap; energy is null.
* ``gap``: the interval is longer than ``max_gap_s``. A register delta across a gap is still exact, but how
  it spreads over the hours is not, so :func:`spread_hourly` marks those hours ``interpolated`` and does
  not count them as covered. A power gauge's gap has no energy at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: Joules per register unit, inferred from the column's unit suffix (the landing schemas' convention).
_UNIT_SUFFIX_J: dict[str, float] = {"_kwh": 3.6e6, "_wh": 3600.0, "_kj": 1e3, "_j": 1.0}

#: Columns every interval frame has after the series columns.
INTERVAL_COLUMNS = ("start", "end", "energy", "method", "gap", "lower_bound", "reset_time", "skipped")

_TS, _V, _RST, _WRAP, _CAP, _GAP = "__ts", "__v", "__rst", "__wrap", "__cap", "__maxgap"
_US_PER_S = 1_000_000


def register_intervals(
    readings: pl.DataFrame,
    *,
    series: Sequence[str],
    ts: str = "ts",
    register: str,
    reset_at: str | None = None,
    wrap_at: float | str | None = None,
    max_power_w: float | str | None = None,
    max_gap_s: float | str | None = None,
    register_j: float | None = None,
) -> pl.DataFrame:
    """One row per consecutive pair of (deduplicated, de-glitched) readings per series.

    Columns: the series columns, ``start``, ``end``, ``energy`` (unit of the register; null when rejected),
    ``method`` (``delta`` | ``reset`` | ``wrap`` | ``rejected``), ``gap`` (longer than ``max_gap_s``),
    ``lower_bound`` (reset at an unknown time: energy is at least this), ``reset_time`` (the known reset
    time inside the interval; energy is measured from there), ``skipped`` (glitch readings bridged).

    ``wrap_at``, ``max_power_w`` and ``max_gap_s`` are a constant or the name of a per-row column (for
    example a meter's own modulus and rating after a join). ``register_j`` is the size of one register unit
    in joules; by default it comes from the column name (``energy_kwh``, ``energy_counter_j``…) and is only
    needed when ``max_power_w`` is given.
    """
    series = list(series)
    if max_power_w is not None and register_j is None:
        register_j = _joules_per_unit(register)
    frame = _prepare(
        readings,
        series,
        ts,
        register,
        extra={_RST: reset_at, _WRAP: wrap_at, _CAP: max_power_w, _GAP: max_gap_s},
    )
    # Duplicates: sorted by value (then reset time, nulls first), the last row of a timestamp is the largest.
    frame = frame.sort([*series, _TS, _V, _RST], nulls_last=False)
    frame = frame.filter(~_same_as_row([*series, _TS], -1))
    frame = _drop_glitches(frame, series)
    joules = register_j if register_j is not None else 1.0
    return _classify(frame, series, joules).select(*series, *INTERVAL_COLUMNS)


def power_intervals(
    readings: pl.DataFrame,
    *,
    series: Sequence[str],
    ts: str = "ts",
    power: str,
    max_gap_s: float | str,
) -> pl.DataFrame:
    """Trapezoid energy between consecutive power readings; intervals longer than ``max_gap_s`` stay empty.

    Energy is in power-unit × seconds (joules for watts). Same columns as :func:`register_intervals`;
    ``method`` is ``trapezoid``, or ``gap`` with a null energy.
    """
    series = list(series)
    frame = _prepare(readings, series, ts, power, extra={_GAP: max_gap_s})
    frame = frame.group_by([*series, _TS]).agg(pl.col(_V).mean(), pl.col(_GAP).first()).sort([*series, _TS])
    prev_ts = _lag(pl.col(_TS), series)
    prev_v = _lag(pl.col(_V), series)
    seconds = (pl.col(_TS) - prev_ts).dt.total_microseconds() / _US_PER_S
    gap = pl.col(_GAP).is_not_null() & (seconds > pl.col(_GAP))
    return (
        frame.with_columns(start=prev_ts, __prev=prev_v, __s=seconds, gap=gap)
        .filter(pl.col("start").is_not_null())
        .select(
            *series,
            "start",
            pl.col(_TS).alias("end"),
            pl.when(~pl.col("gap")).then((pl.col("__prev") + pl.col(_V)) / 2 * pl.col("__s")).alias("energy"),
            pl.when(pl.col("gap")).then(pl.lit("gap")).otherwise(pl.lit("trapezoid")).alias("method"),
            "gap",
            pl.lit(False).alias("lower_bound"),
            pl.lit(None, dtype=frame.schema[_TS]).alias("reset_time"),
            pl.lit(0, dtype=pl.Int64).alias("skipped"),
        )
    )


def spread_hourly(intervals: pl.DataFrame, *, series: Sequence[str]) -> pl.DataFrame:
    """Energy per series and UTC hour from intervals, split pro-rata by time across hour boundaries.

    Columns: the series columns, ``hour``, ``energy`` (null when no interval gave that hour any energy),
    ``covered_s`` (seconds measured exactly: not across a gap, not a lower bound, not rejected),
    ``interpolated`` (some energy of the hour was spread across a gap), ``resets`` (resets and wraps, counted
    in the hour of the reset time when known, else of the interval's end).
    """
    series = list(series)
    if intervals.is_empty():
        return _empty_hourly(intervals, series)
    one_us = pl.duration(microseconds=1)
    frame = _to_utc(intervals, ("start", "end", "reset_time"))
    measured_from = pl.coalesce("reset_time", "start")
    frame = frame.with_columns(
        __from=measured_from,
        hour=pl.datetime_ranges(pl.col("start").dt.truncate("1h"), (pl.col("end") - one_us).dt.truncate("1h"), "1h"),
        __event_hour=pl.coalesce("reset_time", pl.col("end") - one_us).dt.truncate("1h"),
    ).explode("hour")
    hour_end = pl.col("hour") + pl.duration(hours=1)
    lo = pl.max_horizontal("__from", "hour")
    hi = pl.min_horizontal("end", hour_end)
    overlap_us = pl.max_horizontal((hi - lo).dt.total_microseconds(), pl.lit(0))
    span_us = (pl.col("end") - pl.col("__from")).dt.total_microseconds()
    share = (
        pl.when(span_us > 0)
        .then(overlap_us / span_us)
        .otherwise(pl.when(pl.col("hour") == pl.col("__event_hour")).then(1.0).otherwise(0.0))
    )
    exact = (
        ~pl.col("gap")
        & ~pl.col("lower_bound")
        & pl.col("energy").is_not_null()
        & pl.col("method").is_in(["delta", "reset", "wrap", "trapezoid"])
    )
    counted = pl.col("method").is_in(["reset", "wrap"]) & (pl.col("hour") == pl.col("__event_hour"))
    return (
        frame.with_columns(
            __e=pl.col("energy") * share,
            __cov=pl.when(exact).then(overlap_us).otherwise(0),
            __interp=pl.col("gap") & pl.col("energy").is_not_null() & (share > 0),
            __reset=counted.cast(pl.Int64),
        )
        .group_by([*series, "hour"])
        .agg(
            pl.when(pl.col("__e").count() > 0).then(pl.col("__e").sum()).alias("energy"),
            (pl.col("__cov").sum() / _US_PER_S).alias("covered_s"),
            pl.col("__interp").any().alias("interpolated"),
            pl.col("__reset").sum().alias("resets"),
        )
        .sort([*series, "hour"])
    )


# -- internals -----------------------------------------------------------------------------------------


def _lag(expr: pl.Expr, series: list[str], n: int = 1) -> pl.Expr:
    """``expr`` of the row ``n`` before (after, for negative ``n``) within the same series, else null.

    Frames here are sorted by series and time, so a masked shift is the same as ``shift().over(series)``
    without a group-by per expression.
    """
    return pl.when(_same_as_row(series, n)).then(expr.shift(n))


def _same_as_row(columns: list[str], n: int) -> pl.Expr:
    """True where every one of ``columns`` equals its value ``n`` rows away (False off the frame's edge)."""
    same = pl.col(_TS).shift(n).is_not_null()  # off the edge; also guards null series values there
    for column in columns:
        same = same & pl.col(column).eq_missing(pl.col(column).shift(n))
    return same.fill_null(False)


def _joules_per_unit(column: str) -> float:
    name = column.lower()
    for suffix, joules in sorted(_UNIT_SUFFIX_J.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return joules
    raise ValueError(
        f"cannot tell the unit of register column {column!r} from its name; pass register_j= (joules per unit)"
    )


def _prepare(
    readings: pl.DataFrame,
    series: list[str],
    ts: str,
    value: str,
    extra: dict[str, float | str | None],
) -> pl.DataFrame:
    """Select and rename what the computation needs; constants become literal columns."""
    exprs: list[pl.Expr] = [
        *(pl.col(c) for c in series),
        pl.col(ts).alias(_TS),
        pl.col(value).cast(pl.Float64).alias(_V),
    ]
    for name, spec in extra.items():
        if isinstance(spec, str):
            exprs.append(pl.col(spec).alias(name))
        elif name == _RST:
            exprs.append(pl.lit(None, dtype=readings.schema[ts]).alias(name))
        else:
            exprs.append(pl.lit(spec, dtype=pl.Float64).alias(name))
    frame = readings.select(exprs)
    if _RST in frame.columns:
        frame = frame.with_columns(pl.col(_RST).cast(frame.schema[_TS]))
    return frame.filter(pl.col(_TS).is_not_null() & pl.col(_V).is_not_null() & pl.col(_V).is_finite())


def _drop_glitches(frame: pl.DataFrame, series: list[str]) -> pl.DataFrame:
    """Skip single readings outside the range of neighbours that are in order themselves."""
    prev_v, next_v = _lag(pl.col(_V), series), _lag(pl.col(_V), series, -1)
    prev_r, next_r = _lag(pl.col(_RST), series), _lag(pl.col(_RST), series, -1)
    quiet_reset = pl.col(_RST).eq_missing(prev_r) & next_r.eq_missing(prev_r)
    glitch = (
        prev_v.is_not_null()
        & next_v.is_not_null()
        & (prev_v <= next_v)
        & ((pl.col(_V) < prev_v) | (pl.col(_V) > next_v))
        & quiet_reset
    )
    flagged = frame.with_columns(__glitch=glitch.fill_null(False))
    # Each kept reading counts the glitches bridged since the previous kept one (at most one here).
    flagged = flagged.with_columns(
        skipped=_lag(pl.col("__glitch"), series).fill_null(False).cast(pl.Int64),
    )
    return flagged.filter(~pl.col("__glitch")).drop("__glitch")


def _classify(frame: pl.DataFrame, series: list[str], joules_per_unit: float) -> pl.DataFrame:
    prev_ts = _lag(pl.col(_TS), series)
    prev_v = _lag(pl.col(_V), series)
    prev_r = _lag(pl.col(_RST), series)
    frame = frame.with_columns(start=prev_ts, __prev=prev_v, __prev_r=prev_r).filter(pl.col("start").is_not_null())
    seconds = (pl.col(_TS) - pl.col("start")).dt.total_microseconds() / _US_PER_S
    delta = pl.col(_V) - pl.col("__prev")
    known_inside = (
        pl.col(_RST).is_not_null()
        & pl.col(_RST).ne_missing(pl.col("__prev_r"))
        & (pl.col(_RST) > pl.col("start"))
        & (pl.col(_RST) <= pl.col(_TS))
    )
    marker_changed = (
        pl.col(_RST).is_not_null() & pl.col("__prev_r").is_not_null() & (pl.col(_RST) != pl.col("__prev_r"))
    )
    wrapped = pl.col(_WRAP) - pl.col("__prev") + pl.col(_V)

    def power_w(energy: pl.Expr, secs: pl.Expr) -> pl.Expr:
        return pl.when(secs > 0).then(energy * joules_per_unit / secs).otherwise(pl.when(energy > 0).then(float("inf")))

    wrap_ok = (
        pl.col(_WRAP).is_not_null()
        & (pl.col("__prev") <= pl.col(_WRAP))
        & (pl.col(_CAP).is_null() | (power_w(wrapped, seconds) <= pl.col(_CAP)).fill_null(True))
    )
    method = (
        pl.when(known_inside | marker_changed)
        .then(pl.lit("reset"))
        .when(delta >= 0)
        .then(pl.lit("delta"))
        .when(wrap_ok)
        .then(pl.lit("wrap"))
        .otherwise(pl.lit("reset"))
    )
    frame = frame.with_columns(
        __method=method,
        __known=known_inside,
        __s=seconds,
    ).with_columns(
        __energy=pl.when(pl.col("__method") == "delta")
        .then(delta)
        .when(pl.col("__method") == "wrap")
        .then(wrapped)
        .otherwise(pl.col(_V)),
        __measured_s=pl.when(pl.col("__known"))
        .then((pl.col(_TS) - pl.col(_RST)).dt.total_microseconds() / _US_PER_S)
        .otherwise(pl.col("__s")),
    )
    implausible = pl.col(_CAP).is_not_null() & (power_w(pl.col("__energy"), pl.col("__measured_s")) > pl.col(_CAP))
    rejected = implausible.fill_null(False)
    return frame.with_columns(
        end=pl.col(_TS),
        energy=pl.when(rejected).then(None).otherwise(pl.col("__energy")),
        method=pl.when(rejected).then(pl.lit("rejected")).otherwise(pl.col("__method")),
        gap=(pl.col(_GAP).is_not_null() & (pl.col("__s") > pl.col(_GAP))).fill_null(False),
        lower_bound=~rejected & (pl.col("__method") == "reset") & ~pl.col("__known"),
        reset_time=pl.when(pl.col("__known")).then(pl.col(_RST)),
    )


def _to_utc(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    fixes = []
    for c in columns:
        dtype = frame.schema.get(c)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone not in (None, "UTC"):
            fixes.append(pl.col(c).dt.convert_time_zone("UTC"))
    return frame.with_columns(fixes) if fixes else frame


def _empty_hourly(intervals: pl.DataFrame, series: list[str]) -> pl.DataFrame:
    hour_type = intervals.schema.get("start", pl.Datetime("us"))
    schema: dict[str, pl.DataType] = {c: intervals.schema[c] for c in series}
    schema.update(
        {
            "hour": hour_type,
            "energy": pl.Float64(),
            "covered_s": pl.Float64(),
            "interpolated": pl.Boolean(),
            "resets": pl.Int64(),
        }
    )
    return pl.DataFrame(schema=schema)

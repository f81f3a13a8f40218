"""Hourly cell and gNB KPIs from RAN PM records (TS 28.552 counters, TS 28.554 energy efficiency).

Input: rows shaped like the ``ran_pm_record`` table (landing columns, canonical units from
``collectors.ran.units``, naive or UTC timestamps). Output: exactly the columns of ``RAN_CELL_HOURLY`` /
``RAN_GNB_HOURLY``, one row per (site, gNB, cell, hour) / (site, gNB, hour).

**Weighting.** A period counts towards an hour by its overlap: a PT15M period inside the hour is 900 s of
it; a PT1H period from 13:30 to 14:30 is 1800 s of 13:00 and 1800 s of 14:00. Gauge-like counters
(PRBs, UE throughput, RRC connections, active UEs, power) are means weighted by those seconds; period
totals (data volume, energy) are split pro rata (the 13:30–14:30 volume counts half in each hour); maxima
(``RRC.ConnMax``) take the maximum of the periods that touch the hour. When one counter of one object is
reported at two granularities, the finest wins. Suspect records are excluded unless asked for.

**Definitions.** PRB utilisation = Σ(``RRU.PrbUsedDl`` × s) / Σ(``RRU.PrbAvailDl`` × s) over periods that
report both (a ratio of sums, never a mean of ratios), else the weighted mean of ``RRU.PrbTotDl`` / 100.
Volume = ``DRB.PdcpSduVolumeDL``/``UL`` (Mbit, summed over the cell's objects). Energy per gNB and hour =
``PEE.Energy`` (kWh per period); else Ericsson-style ``pmConsumedEnergy`` (Wh per ROP, landed as kWh)
from the node-level ``ConsumedEnergyMeasurement`` or, without it, the sum of the ``EnergyMeter`` units;
else cumulative ``pmConsumedEnergyAccumulated`` differenced per meter (negative steps are register resets
and are dropped). EE (TS 28.554 6.7.1, TS 28.310 6.1.1) = volume of the gNB's cells [bit] / energy [J].
Cumulative counters are differenced against the previous period, so pass the previous hour's records
too and restrict the output with ``start``/``end``.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.tables.base import Table
from pipelines.tables.ran import RAN_CELL_HOURLY, RAN_GNB_HOURLY

CELL_KEY = ["site", "managed_element", "cell", "hour"]
GNB_KEY = ["site", "managed_element", "hour"]
_HOUR = pl.duration(hours=1)

#: signal → (counter, canonical unit, how objects of one period combine, how periods combine).
CELL_SIGNALS: dict[str, tuple[str, str, str, str]] = {
    "prb_used_dl": ("RRU.PrbUsedDl", "PRB", "sum", "mean"),
    "prb_avail_dl": ("RRU.PrbAvailDl", "PRB", "sum", "mean"),
    "prb_used_ul": ("RRU.PrbUsedUl", "PRB", "sum", "mean"),
    "prb_avail_ul": ("RRU.PrbAvailUl", "PRB", "sum", "mean"),
    "prb_tot_dl": ("RRU.PrbTotDl", "%", "mean", "mean"),
    "prb_tot_ul": ("RRU.PrbTotUl", "%", "mean", "mean"),
    "ue_thp_dl_kbps": ("DRB.UEThpDl", "kbit/s", "mean", "mean"),
    "ue_thp_ul_kbps": ("DRB.UEThpUl", "kbit/s", "mean", "mean"),
    "volume_dl_mbit": ("DRB.PdcpSduVolumeDL", "Mbit", "sum", "sum"),
    "volume_ul_mbit": ("DRB.PdcpSduVolumeUL", "Mbit", "sum", "sum"),
    "rrc_conn_mean": ("RRC.ConnMean", "count", "sum", "mean"),
    "rrc_conn_max": ("RRC.ConnMax", "count", "sum", "max"),
    "active_ue_dl_mean": ("DRB.MeanActiveUeDl", "count", "sum", "mean"),
}
ENERGY_PER_PERIOD = ("PEE.Energy", "pmConsumedEnergy")
ENERGY_CUMULATIVE = "pmConsumedEnergyAccumulated"
#: Internal name of the per-period steps of a cumulative register (never a landed counter name).
_ENERGY_STEPS = f"{ENERGY_CUMULATIVE}#steps"
NODE_ENERGY_CLASS = "ConsumedEnergyMeasurement"


def cell_kpis_hourly(
    records: pl.DataFrame,
    *,
    include_suspect: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pl.DataFrame:
    """One row per (site, gNB, cell, hour) with the columns of ``RAN_CELL_HOURLY``, in order."""
    rows, suspect = _hourly_rows(records, include_suspect)
    cells = rows.filter(pl.col("cell").is_not_null())
    keys = pl.concat([cells.select(CELL_KEY), suspect.filter(pl.col("cell").is_not_null()).select(CELL_KEY)]).unique()
    out = keys.join(_coverage(cells, CELL_KEY), on=CELL_KEY, how="left")
    out = out.join(_suspect_periods(suspect, CELL_KEY), on=CELL_KEY, how="left")
    signals = _signals(cells, CELL_SIGNALS, CELL_KEY)
    out = out.join(signals, on=CELL_KEY, how="left").join(_prb_ratios(cells), on=CELL_KEY, how="left")
    for name in CELL_SIGNALS:
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, pl.Float64).alias(name))
    out = out.with_columns(
        pl.coalesce("prb_ratio_dl", pl.col("prb_tot_dl") / 100).alias("prb_util_dl_ratio"),
        pl.coalesce("prb_ratio_ul", pl.col("prb_tot_ul") / 100).alias("prb_util_ul_ratio"),
        pl.col("periods").fill_null(0),
        pl.col("covered_s").fill_null(0.0),
        pl.col("suspect_periods").fill_null(0),
    )
    return _window(_shape(out, RAN_CELL_HOURLY, CELL_KEY), start, end)


def gnb_kpis_hourly(
    records: pl.DataFrame,
    *,
    include_suspect: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pl.DataFrame:
    """One row per (site, gNB, hour) with the columns of ``RAN_GNB_HOURLY``: energy, power, volume, EE."""
    cells = cell_kpis_hourly(records, include_suspect=include_suspect)
    per_gnb = (
        cells.filter(pl.col("periods") > 0)
        .group_by(GNB_KEY)
        .agg(
            pl.col("cell").n_unique().cast(pl.Int64).alias("cells"),
            pl.when(pl.col("volume_dl_mbit").is_not_null() | pl.col("volume_ul_mbit").is_not_null())
            .then(pl.col("volume_dl_mbit").fill_null(0) + pl.col("volume_ul_mbit").fill_null(0))
            .sum()
            .alias("volume_mbit"),
            (pl.col("volume_dl_mbit").is_not_null() | pl.col("volume_ul_mbit").is_not_null()).any().alias("_vol"),
        )
        .with_columns(pl.when(pl.col("_vol")).then(pl.col("volume_mbit")).alias("volume_mbit"))
        .drop("_vol")
    )
    rows, _ = _hourly_rows(records, include_suspect, extra=_energy_deltas(records, include_suspect))
    node = rows.filter(pl.col("cell").is_null())
    energy = _energy(node)
    power = _signals(node, {"power_mean_w": ("PEE.AvgPower", "W", "sum", "mean")}, GNB_KEY)
    keys = pl.concat([per_gnb.select(GNB_KEY), energy.select(GNB_KEY), power.select(GNB_KEY)]).unique()
    out = keys.join(per_gnb, on=GNB_KEY, how="left").join(energy, on=GNB_KEY, how="left")
    out = out.join(power, on=GNB_KEY, how="left")
    if "power_mean_w" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("power_mean_w"))
    joules = pl.col("energy_kwh") * 3.6e6
    out = out.with_columns(
        pl.col("cells").fill_null(0),
        pl.coalesce("power_mean_w", pl.when(pl.col("covered_s") > 0).then(joules / pl.col("covered_s"))).alias(
            "power_mean_w"
        ),
        pl.when(joules > 0).then(pl.col("volume_mbit") * 1e6 / joules).alias("ee_bit_per_j"),
    )
    return _window(_shape(out, RAN_GNB_HOURLY, GNB_KEY), start, end)


# -- preparation ---------------------------------------------------------------------------------------


_INPUT_TYPES: dict[str, pl.DataType] = {
    "site": pl.String(),
    "managed_element": pl.String(),
    "measured_object": pl.String(),
    "cell": pl.String(),
    "counter": pl.String(),
    "sub_counter": pl.String(),
    "vector_index": pl.Int32(),
    "value": pl.Float64(),
    "suspect": pl.Boolean(),
    "unit": pl.String(),
}


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns the KPIs read, typed, with naive UTC microsecond timestamps (whatever the input had)."""
    times = []
    for c in ("period_start", "period_end"):
        col = pl.col(c)
        dtype = frame.schema[c]
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        times.append(col.cast(pl.Datetime("us")).alias(c))
    return frame.select(*times, *[pl.col(c).cast(t) for c, t in _INPUT_TYPES.items()])


def _base(records: pl.DataFrame) -> pl.DataFrame:
    """Whole-counter values (no sub-counter, no vector element) with a value, one per object and period."""
    return (
        _normalise(records)
        .filter(
            pl.col("sub_counter").is_null()
            & pl.col("vector_index").is_null()
            & pl.col("value").is_not_null()
            & (pl.col("period_end") > pl.col("period_start"))
        )
        .group_by(
            ["site", "managed_element", "measured_object", "cell", "counter", "unit", "period_start", "period_end"]
        )
        .agg(pl.col("value").mean(), pl.col("suspect").fill_null(False).any())
    )


def _expand(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per hour a period touches, with its overlap (s) and share of the period (frac)."""
    last = (pl.col("period_end") - pl.duration(microseconds=1)).dt.truncate("1h")
    expanded = rows.with_columns(
        pl.datetime_ranges(pl.col("period_start").dt.truncate("1h"), last, "1h", time_unit="us").alias("hour")
    ).explode("hour")
    overlap = pl.min_horizontal("period_end", pl.col("hour") + _HOUR) - pl.max_horizontal("period_start", "hour")
    duration = pl.col("period_end") - pl.col("period_start")
    return expanded.with_columns(
        (overlap.dt.total_microseconds() / 1e6).alias("overlap_s"),
        (overlap.dt.total_microseconds() / duration.dt.total_microseconds()).alias("frac"),
        (duration.dt.total_microseconds() / 1e6).alias("duration_s"),
    )


def _hourly_rows(
    records: pl.DataFrame, include_suspect: bool, extra: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(usable rows by hour, suspect rows by hour); the finest granularity of each counter wins."""
    base = _base(records)
    if extra is not None and extra.height:
        base = pl.concat([base, extra.select(base.columns)])
    hourly = _finest(_expand(base))
    if include_suspect:
        return hourly, hourly.clear()
    return hourly.filter(~pl.col("suspect")), hourly.filter(pl.col("suspect"))


def _finest(hourly: pl.DataFrame) -> pl.DataFrame:
    """Drop a period when a shorter period of the same object and counter overlaps it (two granularities)."""
    series = ["site", "managed_element", "measured_object", "counter", "hour"]
    several = pl.col("duration_s").n_unique().over(series) > 1
    mixed = hourly.filter(several)
    if mixed.is_empty():
        return hourly
    mixed = mixed.with_row_index("_row")
    pairs = mixed.join(mixed.select(*series, "period_start", "period_end", "duration_s"), on=series, suffix="_o")
    dominated = pairs.filter(
        (pl.col("duration_s_o") < pl.col("duration_s"))
        & (pl.col("period_start_o") < pl.col("period_end"))
        & (pl.col("period_end_o") > pl.col("period_start"))
    ).select("_row")
    kept = mixed.join(dominated.unique(), on="_row", how="anti").drop("_row")
    return pl.concat([hourly.filter(~several), kept])


# -- aggregation ---------------------------------------------------------------------------------------


def _signals(rows: pl.DataFrame, spec: dict[str, tuple[str, str, str, str]], key: list[str]) -> pl.DataFrame:
    """Aggregate each signal per key: objects of a period combine first, then periods (see module doc)."""
    table = pl.DataFrame(
        {
            "signal": list(spec),
            "counter": [s[0] for s in spec.values()],
            "unit": [s[1] for s in spec.values()],
            "objects": [s[2] for s in spec.values()],
            "periods": [s[3] for s in spec.values()],
        }
    )
    picked = rows.join(table, on=["counter", "unit"], how="inner")
    if picked.is_empty():
        return pl.DataFrame(schema={k: rows.schema[k] for k in key})
    per_period = (
        picked.group_by([*key, "signal", "period_start", "period_end"])
        .agg(
            pl.col("value").sum().alias("v_sum"),
            pl.col("value").mean().alias("v_mean"),
            pl.col("overlap_s").first(),
            pl.col("frac").first(),
        )
        .join(table.select("signal", "objects", "periods"), on="signal")
        .with_columns(
            pl.when(pl.col("objects") == "sum").then(pl.col("v_sum")).otherwise(pl.col("v_mean")).alias("value")
        )
    )
    combined = per_period.group_by([*key, "signal"]).agg(
        (pl.col("value") * pl.col("frac")).sum().alias("v_total"),
        pl.col("value").max().alias("v_max"),
        ((pl.col("value") * pl.col("overlap_s")).sum() / pl.col("overlap_s").sum()).alias("v_mean"),
        pl.col("periods").first(),
    )
    picked_value = (
        pl.when(pl.col("periods") == "sum")
        .then(pl.col("v_total"))
        .when(pl.col("periods") == "max")
        .then(pl.col("v_max"))
        .otherwise(pl.col("v_mean"))
    )
    return combined.with_columns(picked_value.alias("value")).pivot(on="signal", index=key, values="value")


def _prb_ratios(cells: pl.DataFrame) -> pl.DataFrame:
    """Σ used·s / Σ available·s over periods that report both, per direction."""
    out = cells.select(CELL_KEY).unique().with_columns(pl.lit(None, pl.Float64).alias("prb_ratio_dl"))
    out = out.with_columns(pl.lit(None, pl.Float64).alias("prb_ratio_ul"))
    for direction in ("Dl", "Ul"):
        used, avail = f"RRU.PrbUsed{direction}", f"RRU.PrbAvail{direction}"
        prb = cells.filter(pl.col("counter").is_in([used, avail]) & (pl.col("unit") == "PRB"))
        if prb.is_empty():
            continue
        per_period = prb.group_by([*CELL_KEY, "period_start", "period_end"]).agg(
            pl.col("value").filter(pl.col("counter") == used).sum().alias("used"),
            pl.col("value").filter(pl.col("counter") == avail).sum().alias("avail"),
            (pl.col("counter") == used).any().alias("has_used"),
            (pl.col("counter") == avail).any().alias("has_avail"),
            pl.col("overlap_s").first(),
        )
        ratio = (
            per_period.filter(pl.col("has_used") & pl.col("has_avail"))
            .group_by(CELL_KEY)
            .agg(
                ((pl.col("used") * pl.col("overlap_s")).sum() / (pl.col("avail") * pl.col("overlap_s")).sum()).alias(
                    "r"
                )
            )
            .with_columns(pl.when(pl.col("r").is_finite()).then(pl.col("r")).alias("r"))
        )
        name = f"prb_ratio_{direction.lower()}"
        out = out.drop(name).join(ratio.rename({"r": name}), on=CELL_KEY, how="left")
    return out


def _coverage(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Distinct periods used and seconds of the hour they cover (their union, clipped to the hour)."""
    spans = (
        rows.select(*key, "period_start", "period_end")
        .unique()
        .with_columns(
            pl.max_horizontal("period_start", "hour").alias("s"),
            pl.min_horizontal("period_end", pl.col("hour") + _HOUR).alias("e"),
        )
        .sort([*key, "s", "e"])
    )
    reach = pl.col("e").cum_max().shift(1).over(key)
    covered = (pl.col("e") - pl.max_horizontal("s", reach)).dt.total_microseconds().clip(lower_bound=0) / 1e6
    return (
        spans.with_columns(covered.alias("covered"))
        .group_by(key)
        .agg(pl.len().cast(pl.Int64).alias("periods"), pl.col("covered").sum().alias("covered_s"))
    )


def _suspect_periods(suspect: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    return (
        suspect.select(*key, "period_start", "period_end")
        .unique()
        .group_by(key)
        .agg(pl.len().cast(pl.Int64).alias("suspect_periods"))
    )


# -- energy --------------------------------------------------------------------------------------------


def _energy_deltas(records: pl.DataFrame, include_suspect: bool) -> pl.DataFrame:
    """Per-period energy from cumulative registers: value − previous value of the same meter."""
    base = _base(records).filter((pl.col("counter") == ENERGY_CUMULATIVE) & (pl.col("unit") == "kWh"))
    if not include_suspect:
        base = base.filter(~pl.col("suspect"))
    meter = ["site", "managed_element", "measured_object"]
    deltas = base.sort([*meter, "period_end"]).with_columns(
        (pl.col("value") - pl.col("value").shift(1).over(meter)).alias("value"),
        pl.col("period_end").shift(1).over(meter).alias("period_start"),
        pl.lit(_ENERGY_STEPS).alias("counter"),
    )
    return deltas.filter(pl.col("value").is_not_null() & (pl.col("value") >= 0))


def _energy(node: pl.DataFrame) -> pl.DataFrame:
    """Energy (kWh), its source and the seconds it covers, per gNB and hour (first source that has data)."""
    rows = node.filter(pl.col("unit") == "kWh")
    rows = rows.with_columns(
        pl.when(pl.col("counter") == _ENERGY_STEPS)
        .then(pl.lit(ENERGY_CUMULATIVE))
        .when(pl.col("counter") == ENERGY_CUMULATIVE)
        .then(pl.lit(None, pl.String))  # the register itself; its steps are what counts
        .otherwise(pl.col("counter"))
        .alias("source"),
        pl.col("measured_object").str.contains(f"(^|,){NODE_ENERGY_CLASS}=").alias("node_level"),
    ).filter(pl.col("source").is_in([*ENERGY_PER_PERIOD, ENERGY_CUMULATIVE]))
    if rows.is_empty():
        return pl.DataFrame(
            schema={
                **{k: node.schema[k] for k in GNB_KEY},
                "energy_kwh": pl.Float64,
                "energy_source": pl.String,
                "covered_s": pl.Float64,
            }
        )
    # Within a period: the node-level total when present, else the sum of the unit meters (never both).
    has_node = pl.col("node_level").any().over([*GNB_KEY, "source", "period_start", "period_end"])
    rows = rows.filter(~has_node | pl.col("node_level"))
    per_source = rows.group_by([*GNB_KEY, "source"]).agg((pl.col("value") * pl.col("frac")).sum().alias("energy_kwh"))
    rank = {s: i for i, s in enumerate([*ENERGY_PER_PERIOD, ENERGY_CUMULATIVE])}
    best = (
        per_source.with_columns(pl.col("source").replace_strict(rank, return_dtype=pl.Int32).alias("rank"))
        .sort([*GNB_KEY, "rank"])
        .group_by(GNB_KEY, maintain_order=True)
        .first()
        .rename({"source": "energy_source"})
    )
    chosen = rows.join(best.select(*GNB_KEY, pl.col("energy_source").alias("source")), on=[*GNB_KEY, "source"])
    coverage = _coverage(chosen, GNB_KEY).select(*GNB_KEY, "covered_s")
    return best.select(*GNB_KEY, "energy_kwh", "energy_source").join(coverage, on=GNB_KEY, how="left")


# -- output --------------------------------------------------------------------------------------------


_POLARS_TYPES: dict[str, pl.DataType] = {
    "TIMESTAMP": pl.Datetime("us"),
    "VARCHAR": pl.String(),
    "DOUBLE": pl.Float64(),
    "BIGINT": pl.Int64(),
    "INTEGER": pl.Int32(),
}


def _shape(frame: pl.DataFrame, table: Table, key: list[str]) -> pl.DataFrame:
    """The table's columns, in order and with its types (an absent signal is an all-null column)."""
    exprs = []
    for column in table.columns:
        dtype = _POLARS_TYPES[column.type]
        source = pl.col(column.name) if column.name in frame.columns else pl.lit(None)
        exprs.append(source.cast(dtype).alias(column.name))
    return frame.select(exprs).sort(key)


def _window(frame: pl.DataFrame, start: dt.datetime | None, end: dt.datetime | None) -> pl.DataFrame:
    def naive(ts: dt.datetime) -> dt.datetime:
        return ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts

    if start is not None:
        frame = frame.filter(pl.col("hour") >= naive(start))
    if end is not None:
        frame = frame.filter(pl.col("hour") < naive(end))
    return frame

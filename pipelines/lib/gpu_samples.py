"""From landed GPU rows to clean samples with the energy of each sample's interval, and who held each GPU.

- Duplicates (the same GPU and time from two producers, or a re-landed batch) collapse to one row,
  preferring NVML over dcgm-exporter over Prometheus history.
- A sample stands for the time until the GPU's next sample (carried forward up to three nominal intervals;
  beyond that it is a gap and the sample counts for its nominal interval only). GPU-hours are the sum.
- Energy of a whole-GPU sample = next energy counter − this counter. Where the counter went backwards
  (driver reload), jumped implausibly, or is missing, energy = average power × duration instead, and the
  method says so. MIG instances carry no board energy (power is board-level); their parent row does.
- Holders (pods, HPC jobs, processes) leave the sample row for a flat table, one row per sample and holder:
  nested lists are the most expensive thing to store in DuckDB, and attribution wants them flat anyway.

The next hour's first sample of each GPU is passed in so the last interval of the hour uses the counter too.
Each GPU's next sample is found with a windowed shift in time order (no sort of the whole hour); duplicates
cost a sort only when a check finds one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from collectors.landing import LandingZone, read_files
from collectors.schemas import GPU_SAMPLE
from pipelines.lib.frames import conform_to_table, empty_frame
from pipelines.tables import table

SOURCE_RANK = {"nvml": 0, "dcgm": 1, "prometheus": 2}
MAX_CARRY_INTERVALS = 3.0
#: A counter delta implying more than this many times the observed power is a glitch, not energy.
PLAUSIBLE_POWER_FACTOR = 1.5
MAX_BOARD_POWER_W = 5000.0
KEY = ["site", "gpu_uuid", "gpu_instance_id"]
HOUR = dt.timedelta(hours=1)
_DERIVED = {"energy_j", "energy_method", "sample_seq", "holder_count", "holder_util_sum"}
#: Landed columns clean samples are made of (the rest of the landing schema stays in the landing zone).
CLEAN_INPUT = [c for c in table("gpu_sample").column_names if c not in _DERIVED] + ["holders"]
#: Landed columns that close the previous hour's last interval.
NEXT_INPUT = [
    "ts",
    "site",
    "gpu_uuid",
    "gpu_instance_id",
    "util_ratio",
    "power_w",
    "energy_counter_j",
    "source",
    "producer",
]


@dataclass(frozen=True)
class CleanHour:
    """One hour of clean samples (``gpu_sample`` rows) and their holders (``gpu_sample_holder`` rows)."""

    samples: pl.DataFrame
    holders: pl.DataFrame


def read_landed(
    landing: LandingZone, hour: dt.datetime, *, head_s: float | None = None, columns: list[str] | None = None
) -> pl.DataFrame:
    """The hour's landed GPU rows in the landing schema; with ``head_s`` only rows in its first ``head_s`` s, with
    ``columns`` only those (a landed hour of 10,000 GPUs is a gigabyte; clean samples need half its columns).

    Reads every file in one parallel scan against the landing schema (files of older schema versions lack
    columns, which read as null); if the files cannot be read that way (a column of another type), falls back
    to :func:`collectors.landing.read_files`, which conforms file by file.
    """
    wanted = columns or list(GPU_SAMPLE.columns)
    files = landing.files_for_hour("gpu", hour)
    if not files:
        return GPU_SAMPLE.empty().select(wanted)
    scan = pl.scan_parquet(files, schema=GPU_SAMPLE.polars_schema, missing_columns="insert", extra_columns="ignore")
    if head_s is not None:
        start = hour.astimezone(dt.UTC)
        scan = scan.filter(pl.col("ts") < pl.lit(start + dt.timedelta(seconds=head_s)).dt.cast_time_unit("us"))
    try:
        return scan.select(wanted).collect()
    except (pl.exceptions.PolarsError, OSError):
        rows = read_files(files, GPU_SAMPLE)
        if head_s is not None:
            rows = rows.filter(pl.col("ts") < hour.astimezone(dt.UTC) + dt.timedelta(seconds=head_s))
        return rows.select(wanted)


def clean_hour(hour_rows: pl.DataFrame, next_rows: pl.DataFrame) -> CleanHour:
    """Clean samples and flat holders for the hour of ``hour_rows`` (landing-shaped, UTC timestamps)."""
    if hour_rows.is_empty():
        return CleanHour(empty_frame("gpu_sample"), empty_frame("gpu_sample_holder"))
    rows, holders = split_holders(_unique(_valid(hour_rows)))
    gap = (pl.col("__next_ts") - pl.col("ts")).dt.total_microseconds() / 1e6
    rows = rows.with_columns(
        pl.col("ts").shift(-1).over(KEY, order_by="ts").alias("__next_ts"),
        pl.col("energy_counter_j").shift(-1).over(KEY, order_by="ts").alias("__next_counter"),
        pl.col("power_w").shift(-1).over(KEY, order_by="ts").alias("__next_power"),
    )
    nxt = _first_next(next_rows.drop("holders", strict=False))
    if nxt.height:
        # A GPU's last sample of the hour ends at its first sample of the next hour (whole GPUs only).
        last = rows.select(
            pl.arg_where(pl.col("__next_ts").is_null() & pl.col("gpu_instance_id").is_null())
        ).to_series()
        first = rows.select("site", "gpu_uuid")[last].join(
            nxt, on=["site", "gpu_uuid"], how="left", maintain_order="left"
        )
        rows = rows.with_columns(
            rows.get_column(f"__next_{name}").scatter(last, first.get_column(f"__first_{name}"))
            for name in ("ts", "counter", "power")
        )
    carried = pl.col("__next_ts").is_not_null() & (gap <= MAX_CARRY_INTERVALS * pl.col("interval_s")) & (gap > 0)
    duration = pl.when(carried).then(gap).otherwise(pl.col("interval_s"))
    delta = pl.col("__next_counter") - pl.col("energy_counter_j")
    ceiling = (
        pl.max_horizontal(pl.col("power_w"), pl.col("__next_power")).fill_null(MAX_BOARD_POWER_W)
        * PLAUSIBLE_POWER_FACTOR
        * gap
        + 50.0
    )
    counter_ok = carried & delta.is_not_null() & (delta >= 0) & (delta <= ceiling)
    whole_gpu = pl.col("gpu_instance_id").is_null()
    out = rows.with_columns(
        duration.alias("interval_s"),
        pl.when(~whole_gpu)
        .then(None)
        .when(counter_ok)
        .then(delta)
        .when(pl.col("power_w").is_not_null())
        .then(pl.col("power_w") * duration)
        .alias("energy_j"),
        pl.when(~whole_gpu)
        .then(pl.lit("none"))
        .when(counter_ok)
        .then(pl.lit("counter"))
        .when(pl.col("power_w").is_not_null())
        .then(pl.lit("power"))
        .otherwise(pl.lit("none"))
        .alias("energy_method"),
    )
    return CleanHour(out.select(table("gpu_sample").column_names), holders)


def clean_samples(hour_rows: pl.DataFrame, next_rows: pl.DataFrame) -> pl.DataFrame:
    """Rows of the ``gpu_sample`` table for the hour of ``hour_rows`` (see :func:`clean_hour`)."""
    return clean_hour(hour_rows, next_rows).samples


def split_holders(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Landing-shaped rows → (rows without the holder lists, ``gpu_sample_holder`` rows).

    Each sample gets ``sample_seq``, its row number in the hour, which its holder rows carry too: attribution
    joins the two on one integer instead of four columns. The rows also keep how many holders they had and,
    where every holder's own utilisation is known (time-slicing), its sum (summed on the flat rows: list
    expressions over millions of short lists are several times slower).
    """
    rows = rows.with_row_index("sample_seq").with_columns(
        pl.col("sample_seq").cast(pl.Int32), pl.col("holders").list.len().cast(pl.Int32).alias("holder_count")
    )
    util_sum = pl.repeat(None, rows.height, dtype=pl.Float64, eager=True).alias("holder_util_sum")
    if not rows.select((pl.col("holder_count") > 0).any()).item():
        return rows.drop("holders").with_columns(util_sum), empty_frame("gpu_sample_holder")
    # Exploding every row and dropping the empty ones is cheaper than filtering the nested column first.
    exploded = (
        rows.select("sample_seq", "ts", "site", "gpu_uuid", "gpu_instance_id", "holders")
        .with_columns(pl.int_ranges(pl.col("holders").list.len()).alias("position"))
        .explode("holders", "position")
    )
    flat = conform_to_table("gpu_sample_holder", exploded.filter(pl.col("position").is_not_null()).unnest("holders"))
    sums = flat.group_by("sample_seq").agg(
        pl.when(pl.col("util_ratio").is_not_null().all()).then(pl.col("util_ratio").sum()).alias("s")
    )
    util_sum = util_sum.scatter(sums.get_column("sample_seq"), sums.get_column("s"))
    return rows.drop("holders").with_columns(util_sum), flat


def flat_holders(rows: pl.DataFrame) -> pl.DataFrame:
    """``gpu_sample_holder`` rows of landing-shaped rows (see :func:`split_holders`)."""
    return split_holders(rows)[1]


def _valid(rows: pl.DataFrame) -> pl.DataFrame:
    """Physically impossible readings become null (they would poison sums), sources get their rank."""
    return rows.with_columns(
        pl.when(pl.col("util_ratio").is_between(0.0, 1.0)).then(pl.col("util_ratio")).alias("util_ratio"),
        pl.when(pl.col("power_w").is_between(0.0, MAX_BOARD_POWER_W)).then(pl.col("power_w")).alias("power_w"),
        pl.when(pl.col("energy_counter_j") >= 0).then(pl.col("energy_counter_j")).alias("energy_counter_j"),
        pl.col("source").replace_strict(SOURCE_RANK, default=9, return_dtype=pl.Int32).alias("__rank"),
    )


def _first_next(next_rows: pl.DataFrame) -> pl.DataFrame:
    """Each GPU's first whole-GPU sample of the next hour (best source first): time, counter and power."""
    if next_rows.is_empty():
        return pl.DataFrame()
    return (
        _valid(next_rows)
        .filter(pl.col("gpu_instance_id").is_null())
        .sort(["site", "gpu_uuid", "ts", "__rank", "producer"])
        .unique(subset=["site", "gpu_uuid"], keep="first", maintain_order=True)
        .select(
            "site",
            "gpu_uuid",
            pl.col("ts").alias("__first_ts"),
            pl.col("energy_counter_j").alias("__first_counter"),
            pl.col("power_w").alias("__first_power"),
        )
    )


def _unique(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (site, GPU, instance, ts): the best source first, then the first producer by name.

    Checks first (each row against the next in time within its GPU); only if a duplicate exists does it pay
    for a sort.
    """
    duplicated = rows.select((pl.col("ts").shift(-1).over(KEY, order_by="ts") == pl.col("ts")).any()).item()
    if not duplicated:
        return rows
    return rows.sort([*KEY, "ts", "__rank", "producer"], nulls_last=False).unique(
        subset=[*KEY, "ts"], keep="first", maintain_order=True
    )

"""From landed GPU rows to clean samples with the energy of each sample's interval.

- Duplicates (the same GPU and time from two producers, or a re-landed batch) collapse to one row,
  preferring NVML over dcgm-exporter over Prometheus history.
- A sample stands for the time until the GPU's next sample (carried forward up to three nominal intervals;
  beyond that it is a gap and the sample counts for its nominal interval only). GPU-hours are the sum.
- Energy of a whole-GPU sample = next energy counter − this counter. Where the counter went backwards
  (driver reload), jumped implausibly, or is missing, energy = average power × duration instead, and the
  method says so. MIG instances carry no board energy (power is board-level); their parent row does.

The next hour's first sample of each GPU is passed in so the last interval of the hour uses the counter too.
"""

from __future__ import annotations

import polars as pl

from pipelines.lib.frames import empty_frame
from pipelines.tables import table

SOURCE_RANK = {"nvml": 0, "dcgm": 1, "prometheus": 2}
MAX_CARRY_INTERVALS = 3.0
#: A counter delta implying more than this many times the observed power is a glitch, not energy.
PLAUSIBLE_POWER_FACTOR = 1.5
MAX_BOARD_POWER_W = 5000.0


def clean_samples(hour_rows: pl.DataFrame, next_rows: pl.DataFrame) -> pl.DataFrame:
    """Rows of the ``gpu_sample`` table for the hour of ``hour_rows`` (landing-shaped, UTC timestamps)."""
    columns = list(table("gpu_sample").column_names)
    if hour_rows.is_empty():
        return _empty(columns)
    if next_rows.is_empty():
        first_next = hour_rows.head(0)
    else:
        first_next = (
            _dedupe(next_rows)
            .filter(pl.col("gpu_instance_id").is_null())
            .sort("ts")
            .group_by("site", "gpu_uuid", maintain_order=True)
            .first()
        )
    rows = _dedupe(hour_rows).with_columns(pl.lit(True).alias("__mine"))
    both = pl.concat(
        [rows, first_next.with_columns(pl.lit(False).alias("__mine")).select(rows.columns)], how="vertical"
    ).sort(["site", "gpu_uuid", "gpu_instance_id", "ts"], nulls_last=False)
    key = ["site", "gpu_uuid", "gpu_instance_id"]
    both = both.with_columns(
        pl.col("ts").shift(-1).over(key).alias("__next_ts"),
        pl.col("energy_counter_j").shift(-1).over(key).alias("__next_counter"),
        pl.col("power_w").shift(-1).over(key).alias("__next_power"),
    )
    gap = (pl.col("__next_ts") - pl.col("ts")).dt.total_microseconds() / 1e6
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
    out = both.filter(pl.col("__mine")).with_columns(
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
    return out.select(columns)


def _dedupe(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (site, GPU, instance, ts): the best source wins, then the first producer by name."""
    if rows.is_empty():
        return rows
    cleaned = rows.with_columns(
        pl.when(pl.col("util_ratio").is_between(0.0, 1.0)).then(pl.col("util_ratio")).alias("util_ratio"),
        pl.when(pl.col("power_w").is_between(0.0, MAX_BOARD_POWER_W)).then(pl.col("power_w")).alias("power_w"),
        pl.when(pl.col("energy_counter_j") >= 0).then(pl.col("energy_counter_j")).alias("energy_counter_j"),
        pl.col("source").replace_strict(SOURCE_RANK, default=9, return_dtype=pl.Int32).alias("__rank"),
    )
    return (
        cleaned.sort(["__rank", "producer"])
        .unique(subset=["site", "gpu_uuid", "gpu_instance_id", "ts"], keep="first", maintain_order=True)
        .drop("__rank")
    )


def _empty(columns: list[str]) -> pl.DataFrame:
    return empty_frame("gpu_sample").select(columns)

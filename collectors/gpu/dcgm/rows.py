"""Row buffers that turn many scrapes into one landing frame.

A scrape yields a handful of rows (one per GPU or MIG instance); building a Polars frame per scrape would
cost more than the scrape itself. Rows are kept as plain dicts and turned into one frame per landing batch:
``pl.from_dicts`` for the flat columns and a pyarrow list-of-struct array for ``holders`` (building nested
lists from Python objects through Polars is ~40 µs per row; through pyarrow offsets it is ~1 µs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from collectors.gpu.fields import DERIVED_ONLY, FIELDS
from collectors.schemas import COLLECTOR_HEALTH, GPU_HEALTH, GPU_SAMPLE, HOLDER, LandingSchema, conform

#: The arrow type of one holder, as Polars itself maps ``HOLDER``.
_HOLDER_STRUCT = pl.Series("holder", [], dtype=HOLDER).to_arrow().type
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ZERO_UNSUPPORTED = tuple(f.column for f in FIELDS if f.zero_means_unsupported)
_GPU_NUMERIC = tuple(f.column for f in FIELDS if f.column_type != "float" and f.column in GPU_SAMPLE.columns)

Holder = dict[str, Any]


def ts_us(ts: dt.datetime) -> int:
    """Microseconds since the epoch of an aware (or naive = UTC) timestamp."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class RowBuffer:
    """Rows of one landing schema, as dicts with a ``ts_us`` integer instead of ``ts``.

    ``numeric_as_float`` names integer and boolean columns whose values arrive as floats (device readings
    are parsed as floats); they are rounded or compared with zero once per batch, in Polars.
    """

    def __init__(
        self,
        schema: LandingSchema,
        numeric_as_float: Iterable[str] = (),
        finish: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
        helpers: Iterable[str] = (),
    ) -> None:
        self.schema = schema
        self.rows: list[dict[str, Any]] = []
        time_col = schema.time_column
        self._time_col = time_col
        self._as_float = {n: schema.columns[n] for n in numeric_as_float}
        self._finish = finish
        self._flat_schema: dict[str, Any] = dict.fromkeys(helpers, pl.Float64)
        for name, dtype in schema.columns.items():
            if name == "holders":
                continue
            if name == time_col:
                self._flat_schema["ts_us"] = pl.Int64
            else:
                self._flat_schema[name] = pl.Float64 if name in self._as_float else dtype

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def to_frame(self) -> pl.DataFrame:
        """All buffered rows conformed to the schema (an empty frame of the schema when there are none)."""
        return self.frame_of(self.rows)

    def drain(self) -> list[dict[str, Any]]:
        """Hand over the buffered rows and start afresh (call from the thread that appends)."""
        rows, self.rows = self.rows, []
        return rows

    def restore(self, rows: list[dict[str, Any]]) -> None:
        """Put drained rows back in front (their landing failed)."""
        self.rows[:0] = rows

    def frame_of(self, rows: list[dict[str, Any]]) -> pl.DataFrame:
        """Rows (as buffered) conformed to the schema; safe to call from another thread."""
        if not rows:
            return self.schema.empty()
        frame = pl.from_dicts(rows, schema=self._flat_schema)
        frame = frame.with_columns(pl.col("ts_us").cast(pl.Datetime("us", "UTC")).alias(self._time_col)).drop("ts_us")
        if self._as_float:
            frame = frame.with_columns(
                (pl.col(n) != 0) if d == pl.Boolean else pl.col(n).round().cast(d) for n, d in self._as_float.items()
            )
        if "holders" in self.schema.columns:
            frame = frame.with_columns(holders_series([r.get("holders") or [] for r in rows]))
        if self._finish is not None:
            frame = self._finish(frame)
        return conform(frame, self.schema)


def holders_series(per_row: list[list[Holder]]) -> pl.Series:
    """A ``List(HOLDER)`` series from per-row lists of holder dicts, built through pyarrow offsets."""
    flat = [h for holders in per_row for h in holders]
    offsets = pa.array(list(accumulate(map(len, per_row), initial=0)), type=pa.int32())
    lists = pa.ListArray.from_arrays(offsets, pa.array(flat, type=_HOLDER_STRUCT))
    series = pl.from_arrow(lists)
    assert isinstance(series, pl.Series)
    return series.alias("holders").cast(pl.List(HOLDER))


def _finish_gpu(frame: pl.DataFrame) -> pl.DataFrame:
    """Per batch, vectorised: zero means unsupported for some fields (``MEMORY_TEMP`` on GDDR parts), and the
    framebuffer total is free + used + reserved where the source gives no total."""
    derived = pl.col("_mem_free_bytes") + pl.col("mem_used_bytes") + pl.col("_mem_reserved_bytes").fill_null(0)
    return frame.with_columns(
        *(pl.when(pl.col(c) != 0).then(pl.col(c)).alias(c) for c in _ZERO_UNSUPPORTED),
        pl.coalesce(pl.col("mem_total_bytes"), derived.round().cast(pl.Int64)).alias("mem_total_bytes"),
    ).drop(*DERIVED_ONLY)


def gpu_buffer() -> RowBuffer:
    return RowBuffer(GPU_SAMPLE, numeric_as_float=_GPU_NUMERIC, finish=_finish_gpu, helpers=DERIVED_ONLY)


def gpu_health_buffer() -> RowBuffer:
    return RowBuffer(GPU_HEALTH)


def collector_health_buffer() -> RowBuffer:
    return RowBuffer(COLLECTOR_HEALTH)

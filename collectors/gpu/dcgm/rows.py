"""Row buffers that turn many scrapes into one landing frame.

A scrape yields a handful of rows (one per GPU or MIG instance); building a Polars frame per scrape would
cost more than the scrape itself. Rows are kept as plain dicts and turned into one frame per landing batch:
``pl.from_dicts`` for the flat columns and a pyarrow list-of-struct array for ``holders`` (building nested
lists from Python objects through Polars is ~40 µs per row; through pyarrow offsets it is ~0.2 µs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from collectors.gpu.fields import FIELDS
from collectors.schemas import COLLECTOR_HEALTH, GPU_HEALTH, GPU_SAMPLE, HOLDER, LandingSchema, conform

_HOLDER_FIELDS = tuple(HOLDER.to_schema().items())
_HOLDER_ARROW = {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Float64: pa.float64()}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
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

    def __init__(self, schema: LandingSchema, numeric_as_float: Iterable[str] = ()) -> None:
        self.schema = schema
        self.rows: list[dict[str, Any]] = []
        time_col = schema.time_column
        self._time_col = time_col
        self._as_float = {n: schema.columns[n] for n in numeric_as_float}
        self._flat_schema: dict[str, Any] = {}
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
        return conform(frame, self.schema)


def holders_series(per_row: list[list[Holder]]) -> pl.Series:
    """A ``List(HOLDER)`` series from per-row lists of holder dicts, built through pyarrow offsets."""
    offsets = [0]
    flat: dict[str, list[Any]] = {name: [] for name, _ in _HOLDER_FIELDS}
    total = 0
    for holders in per_row:
        for h in holders:
            for name, values in flat.items():
                values.append(h.get(name))
        total += len(holders)
        offsets.append(total)
    arrays = [pa.array(flat[name], type=_HOLDER_ARROW[dtype]) for name, dtype in _HOLDER_FIELDS]  # type: ignore[index]
    structs = pa.StructArray.from_arrays(arrays, names=[name for name, _ in _HOLDER_FIELDS])
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), structs)
    series = pl.from_arrow(lists)
    assert isinstance(series, pl.Series)
    return series.alias("holders").cast(pl.List(HOLDER))


def gpu_buffer() -> RowBuffer:
    return RowBuffer(GPU_SAMPLE, numeric_as_float=_GPU_NUMERIC)


def gpu_health_buffer() -> RowBuffer:
    return RowBuffer(GPU_HEALTH)


def collector_health_buffer() -> RowBuffer:
    return RowBuffer(COLLECTOR_HEALTH)

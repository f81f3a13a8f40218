"""Row dicts → landing-shaped Polars frames, fast.

The agent produces rows as dicts (cheap to fill field by field). ``pl.from_dicts`` turns them into a frame
but is slow on the nested ``holders`` column (a list of structs): about 50 µs a row, more than sampling the
GPU through the simulated NVML. Building the columns as Arrow arrays first and handing them to Polars is an
order of magnitude faster; the tests prove the frame equals ``pl.from_dicts(rows, schema=…)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from collectors.schemas import COLLECTOR_HEALTH, GPU_HEALTH, GPU_SAMPLE, LandingSchema


def gpu_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """GPU rows (missing keys are null) as a frame with the ``gpu`` landing schema."""
    return frame(rows, GPU_SAMPLE)


def health_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    return frame(rows, GPU_HEALTH)


def collector_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    return frame(rows, COLLECTOR_HEALTH)


def frame(rows: Sequence[dict[str, Any]], schema: LandingSchema) -> pl.DataFrame:
    """Rows as a frame of exactly ``schema``'s columns and types, built through Arrow."""
    if not rows:
        return schema.empty()
    types = _arrow_types(schema.source)
    arrays = [pa.array([r.get(name) for r in rows], type=types[name]) for name in schema.columns]
    table = pa.Table.from_arrays(arrays, names=list(schema.columns))
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    if out.schema != schema.polars_schema:
        out = out.cast(schema.polars_schema)
    return out


@cache
def _arrow_types(source: str) -> dict[str, pa.DataType]:
    """The Arrow type of each landing column, as Polars itself exports it."""
    from collectors.schemas import schema_for

    empty = schema_for(source).empty().to_arrow()
    return {f.name: _plain(f.type) for f in empty.schema}


def _plain(t: pa.DataType) -> pa.DataType:
    """Polars exports strings as ``string_view``; build plain strings (cheaper from Python) and let it convert."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.large_list(_plain(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type)) for f in t])
    return t

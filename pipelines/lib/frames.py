"""Polars schemas of the declared warehouse tables, for empty results and for casting before a write."""

from __future__ import annotations

import polars as pl

from collectors.schemas import HOLDER, DType
from pipelines.tables import table

_SCALARS: dict[str, DType] = {
    "TIMESTAMP": pl.Datetime("us"),
    "DATE": pl.Date,
    "VARCHAR": pl.String,
    "DOUBLE": pl.Float64,
    "BIGINT": pl.Int64,
    "INTEGER": pl.Int32,
    "SMALLINT": pl.Int16,
    "BOOLEAN": pl.Boolean,
}


def polars_type(duckdb_type: str) -> DType:
    if duckdb_type.startswith("STRUCT(namespace"):
        return pl.List(HOLDER)
    if duckdb_type.endswith("[]"):
        return pl.List(polars_type(duckdb_type[:-2]))
    try:
        return _SCALARS[duckdb_type]
    except KeyError:
        raise ValueError(f"no Polars type declared for DuckDB type {duckdb_type}") from None


def table_schema(name: str) -> pl.Schema:
    return pl.Schema({c.name: polars_type(c.type) for c in table(name).columns})


def empty_frame(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=table_schema(name))


def conform_to_table(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select the table's columns in order and cast them to its types (naive UTC timestamps)."""
    schema = table_schema(name)
    if frame.width == 0:
        # No columns at all (e.g. built from an empty list): no rows, not one row of NULL literals.
        return pl.DataFrame(schema=schema)
    exprs = []
    for col, dtype in schema.items():
        if col not in frame.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(col))
            continue
        current = frame.schema[col]
        if isinstance(current, pl.Datetime) and current.time_zone is not None:
            exprs.append(pl.col(col).dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(dtype).alias(col))
        else:
            exprs.append(pl.col(col).cast(dtype).alias(col))
    return frame.select(exprs)

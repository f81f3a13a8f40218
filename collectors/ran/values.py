"""Text → numbers for a batch of PM values, vectorised: scalars, comma vectors, ``NIL`` and blanks.

TS 32.435 results are ``xs:float`` or ``NIL``; real files add comma vectors (PDF bins, 150-sample power
series), blanks (``" "``) and blank vectors (``" , , "``). Doing this per value in Python would cost more
than parsing the XML, so a whole batch goes through Polars and NumPy at once.
"""

from __future__ import annotations

import polars as pl

from collectors.ran.records import ID_SCHEMA, Problems, Tables


def values_from_text(raw: pl.DataFrame, problems: Problems, tables: Tables) -> pl.DataFrame:
    """Turn ``text`` into numbers: scalars, comma vectors (one row per element), ``NIL``/blank → null.

    Text that is neither a number nor a no-value marker is reported (counter and line) and dropped: a
    garbled value is not the same as a missing one. Vectors are split and exploded as a narrow frame
    (row, text, index) and the other columns gathered by row number (much faster than exploding the
    whole frame); only values that do not cast directly (padding, ``NIL``, blanks, garbage) take the
    slower string path.
    """
    is_vector = raw.get_column("text").str.contains(",", literal=True)
    scalars = raw.filter(~is_vector).with_columns(pl.lit(None, pl.Int32).alias("vector_index"))
    frames = [scalars]
    if is_vector.any():
        vectors = raw.filter(is_vector)
        flat = (
            pl.DataFrame(
                {
                    "row": pl.int_range(0, vectors.height, dtype=pl.UInt32, eager=True),
                    "text": vectors.get_column("text").str.split(","),
                }
            )
            .with_columns(pl.int_ranges(0, pl.col("text").list.len(), dtype=pl.Int32).alias("vector_index"))
            .explode(["text", "vector_index"])
        )
        failed = flat.get_column("text").cast(pl.Float64, strict=False).is_null()
        empty_rows = pl.Series("row", [], dtype=pl.UInt32)
        if failed.any():
            # " , , " is how some vendors write "no value" for a vector counter: one null, not n nulls.
            blank = failed & flat.get_column("text").str.strip_chars().is_in(["", "NIL"])
            per_row = flat.select("row", blank.alias("blank")).group_by("row").agg(pl.col("blank").all())
            empty_rows = per_row.filter(pl.col("blank")).get_column("row")
            flat = flat.filter(~pl.col("row").is_in(empty_rows.implode()))
        exploded = (
            vectors.drop("text")
            .select(pl.all().gather(flat.get_column("row")))
            .with_columns(flat.get_column("text"), flat.get_column("vector_index"))
        )
        empty = vectors.with_row_index("row").filter(pl.col("row").is_in(empty_rows.implode()))
        empty = empty.drop("row").with_columns(
            pl.lit("NIL").alias("text"), pl.lit(None, pl.Int32).alias("vector_index")
        )
        frames += [exploded.select(scalars.columns), empty.select(scalars.columns)]
    rows_all = pl.concat(frames) if len(frames) > 1 else scalars
    value = pl.col("text").cast(pl.Float64, strict=False)
    rows_all = rows_all.with_columns(value.alias("value"))
    missing = rows_all.get_column("value").is_null()
    if missing.any():
        fixed = (
            rows_all.filter(missing).with_columns(pl.col("text").str.strip_chars()).with_columns(value.alias("value"))
        )
        nil = pl.col("text").is_in(["", "NIL"])
        bad = fixed.filter(pl.col("value").is_null() & ~nil)
        if bad.height:
            _report_bad(bad, problems, tables)
        rows_all = pl.concat([rows_all.filter(~missing), fixed.filter(pl.col("value").is_not_null() | nil)])
    return rows_all.select(list(ID_SCHEMA.names()))


def _report_bad(bad: pl.DataFrame, problems: Problems, tables: Tables) -> None:
    for row in bad.head(problems.cap).iter_rows(named=True):
        problems.add(
            f"value {row['text']!r} is not a number; record skipped",
            line=row["line"],
            field=tables.counter_name(row["counter_id"]),
        )
    if bad.height > problems.cap:
        problems.dropped += bad.height - problems.cap

"""Bulk appends into the warehouse at the speed DuckDB allows.

DuckDB appends a single Arrow chunk on one thread, and keeps insertion order unless told otherwise; a frame cut
into row-group-sized chunks with ``preserve_insertion_order`` off is appended by every thread (measured: 3.6 M
wide rows in 2.9 s instead of 5.2 s on 2 cores). Row order inside a partition carries no meaning here (every
table has a key and a time column), so nothing is lost.
"""

from __future__ import annotations

import polars as pl

from pipelines.lib.warehouse import Warehouse

ROW_GROUP = 122_880


def in_chunks(frame: pl.DataFrame, rows: int = ROW_GROUP) -> pl.DataFrame:
    """The same frame as several chunks of at most ``rows`` rows (their Arrow form keeps the chunks)."""
    whole = frame.rechunk()  # scans of many files arrive in thousands of tiny chunks
    if whole.height <= rows:
        return whole
    return pl.concat([whole.slice(offset, rows) for offset in range(0, whole.height, rows)], rechunk=False)


def parallel_appends(wh: Warehouse) -> None:
    """Let the current session's connection append in parallel (call inside ``Warehouse.session()``)."""
    with wh.connect() as con:
        con.execute("SET preserve_insertion_order = false")

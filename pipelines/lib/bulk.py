"""Session settings for heavy warehouse work: parallel bulk appends and a bounded DuckDB memory.

DuckDB appends a single Arrow chunk on one thread, and keeps insertion order unless told otherwise; a frame cut
into row-group-sized chunks with ``preserve_insertion_order`` off is appended by every thread (measured: 3.6 M
wide rows in 2.9 s instead of 5.2 s on 2 cores). Row order inside a partition carries no meaning here (every
table has a key and a time column), so nothing is lost.

Compression: FSST (for free text) and the ALP-RD/Chimp/Patas float codecs are tried on every segment but win
nothing on these tables (repetitive names go to dictionaries, floats to ALP); not trying them saves 15 % of an
append with the same file size (3.6 M samples: 3.1 → 2.6 s, 130 MB either way).

DuckDB's buffer pool may grow to 80 % of RAM by default and keeps what a long backfill session wrote; Polars
frames of the hour being processed live beside it. ``AIGRID_DUCKDB_MEMORY`` (default 2GB) caps DuckDB's share, so
a 24-hour backfill of 10,000 GPUs stays within a few GB; large sorts and aggregations spill to disk instead.
"""

from __future__ import annotations

import os
import re

import polars as pl

from pipelines.lib.warehouse import Warehouse

ROW_GROUP = 122_880
MEMORY_ENV = "AIGRID_DUCKDB_MEMORY"
DEFAULT_MEMORY = "2GB"
_MEMORY = re.compile(r"^\d{1,6}(\.\d+)?\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def in_chunks(frame: pl.DataFrame, rows: int = ROW_GROUP) -> pl.DataFrame:
    """The same frame as several chunks of at most ``rows`` rows (their Arrow form keeps the chunks)."""
    whole = frame.rechunk()  # scans of many files arrive in thousands of tiny chunks
    if whole.height <= rows:
        return whole
    return pl.concat([whole.slice(offset, rows) for offset in range(0, whole.height, rows)], rechunk=False)


def memory_limit() -> str:
    """DuckDB's memory cap from ``AIGRID_DUCKDB_MEMORY`` (e.g. ``4GB``); a malformed value is refused."""
    value = os.environ.get(MEMORY_ENV, DEFAULT_MEMORY).strip()
    if not _MEMORY.match(value):
        raise ValueError(f"{MEMORY_ENV}={value!r} is not a size such as 2GB or 512MB")
    return value


def tune_session(wh: Warehouse) -> None:
    """Parallel appends and the memory cap for the current session (call inside ``Warehouse.session()``)."""
    with wh.connect() as con:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET disabled_compression_methods = 'fsst,alprd,chimp,patas'")
        con.execute(f"SET memory_limit = '{memory_limit()}'")  # validated above: digits and a unit only

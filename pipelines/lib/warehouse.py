"""The warehouse: one DuckDB file with one writer, partitions replaced in a single transaction.

Why not dagster-duckdb's IO manager: it deletes and inserts without a transaction (a failed insert leaves an
empty partition, dagster#14091) and opens read-write even to read. Here every partition write is
``BEGIN; DELETE range; INSERT; COMMIT`` on one short-lived connection, so a crash or a bad batch leaves the
previous state, and re-running a partition gives the same rows.

Readers never open this file: :func:`publish` copies the serving tables into a new file and renames it over
``serving/current.duckdb``, which Grafana, ``aigrid sql`` and analysts open read-only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.tables import Table, table

#: Storage format of the serving file. The Grafana DuckDB plugin embeds DuckDB 1.5.4, which reads
#: storage versions up to 1.5; v1.0.0 is what DuckDB 1.5.x itself writes by default.
SERVING_STORAGE_VERSION = "v1.0.0"
LOCK_RETRY_S = 60.0


class WarehouseError(RuntimeError):
    """A write was refused before touching the database (wrong columns, rows outside the partition)."""


class Warehouse:
    """Transactional writes and reads on the warehouse file; every identifier comes from the table registry."""

    def __init__(self, path: str | Path, *, lock_retry_s: float = LOCK_RETRY_S) -> None:
        self.path = Path(path)
        self.lock_retry_s = lock_retry_s
        self._session: duckdb.DuckDBPyConnection | None = None
        self._ensured: set[str] = set()

    @contextlib.contextmanager
    def session(self) -> Iterator[Warehouse]:
        """Keep one connection open for several operations (an asset's whole run); each write still commits
        on its own, but opening the file and checkpointing happen once."""
        if self._session is not None:
            yield self
            return
        with self._open() as con:
            self._session = con
            try:
                yield self
            finally:
                self._session = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The session's connection, or a new read-write one closed on exit."""
        if self._session is not None:
            yield self._session
            return
        with self._open() as con:
            yield con

    @contextlib.contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open read-write, waiting (bounded) while another process holds the lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_retry_s
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        try:
            yield con
        finally:
            con.close()

    def _ensure(self, con: duckdb.DuckDBPyConnection, tbl: Table) -> None:
        """Create or evolve a table once per Warehouse object (DDL checks are not free on every call)."""
        if tbl.name not in self._ensured:
            _create_or_evolve(con, tbl)
            self._ensured.add(tbl.name)

    def _transaction(self, con: duckdb.DuckDBPyConnection, tbl: Table, work: Any) -> int:
        self._ensure(con, tbl)
        return _in_transaction(con, tbl, work)

    def _ensure_all(self, con: duckdb.DuckDBPyConnection) -> None:
        from pipelines.tables import TABLES

        pending = [t for t in TABLES.values() if t.name not in self._ensured]
        if not pending:
            return
        # One catalog read for every table (two statements per table cost ~60 ms per new Warehouse object);
        # DDL only where a table or column is missing.
        existing: dict[str, set[str]] = {}
        for name, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall():
            existing.setdefault(name, set()).add(column)
        for tbl in pending:
            if existing.get(tbl.name, set()) >= set(tbl.column_names):
                self._ensured.add(tbl.name)
            else:
                self._ensure(con, tbl)

    # -- writes ----------------------------------------------------------------------------------------

    def replace_partition(
        self, name: str, frame: pl.DataFrame, start: dt.datetime | dt.date, end: dt.datetime | dt.date
    ) -> int:
        """Replace the rows of ``name`` whose time column lies in [start, end) by ``frame``, atomically."""
        tbl = _partitioned(name)
        rows = _prepare(tbl, frame)
        assert tbl.time_column is not None
        _check_inside(tbl, rows, start, end)
        with self.connect() as con:
            return self._transaction(
                con,
                tbl,
                lambda: (
                    con.execute(
                        f"DELETE FROM {tbl.name} WHERE {tbl.time_column} >= ? AND {tbl.time_column} < ?",
                        [_param(start), _param(end)],
                    ),
                    _insert(con, tbl, rows),
                )[-1],
            )

    def replace_partition_sql(
        self,
        name: str,
        select_sql: str,
        params: Sequence[Any],
        start: dt.datetime | dt.date,
        end: dt.datetime | dt.date,
    ) -> int:
        """Replace a partition with the result of a SELECT over other warehouse tables, in one transaction.

        ``select_sql`` is a constant written in this code base (never user input) returning the declared
        columns in order; values travel in ``params``.
        """
        tbl = _partitioned(name)
        assert tbl.time_column is not None
        tc = tbl.time_column
        with self.connect() as con:

            def work() -> int:
                con.execute(f"DELETE FROM {tbl.name} WHERE {tc} >= ? AND {tc} < ?", [_param(start), _param(end)])
                cols = ", ".join(tbl.column_names)
                # The range filter keeps a partition write inside its partition whatever the SELECT returns.
                con.execute(
                    f"INSERT INTO {tbl.name} ({cols}) SELECT {cols} FROM ({select_sql}) AS src "
                    f"WHERE src.{tc} >= ? AND src.{tc} < ?",
                    [*params, _param(start), _param(end)],
                )
                count = con.execute(
                    f"SELECT count(*) FROM {tbl.name} WHERE {tc} >= ? AND {tc} < ?",
                    [_param(start), _param(end)],
                ).fetchone()
                return int(count[0]) if count else 0

            return self._transaction(con, tbl, work)

    def replace_all(self, name: str, frame: pl.DataFrame) -> int:
        """Replace the whole content of an unpartitioned table (dimensions, last-value tables)."""
        tbl = table(name)
        rows = _prepare(tbl, frame)
        with self.connect() as con:
            return self._transaction(
                con, tbl, lambda: (con.execute(f"DELETE FROM {tbl.name}"), _insert(con, tbl, rows))[-1]
            )

    # -- reads -----------------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        """Run a SELECT written in this code base; returns an empty frame if the warehouse does not exist yet."""
        if not self.path.exists():
            return pl.DataFrame()
        with self.connect() as con:
            self._ensure_all(con)
            return con.execute(sql, list(params)).pl()

    def read_partition(
        self, name: str, start: dt.datetime | dt.date, end: dt.datetime | dt.date, columns: Sequence[str] = ()
    ) -> pl.DataFrame:
        """Rows of a partitioned table in [start, end); selected columns must be declared."""
        tbl = _partitioned(name)
        wanted = list(columns) or list(tbl.column_names)
        for c in wanted:
            tbl.column(c)
        tc = tbl.time_column
        # Ordered by the key: downstream float sums then come out the same on every re-run.
        sql = f"SELECT {', '.join(wanted)} FROM {tbl.name} WHERE {tc} >= ? AND {tc} < ? ORDER BY {', '.join(tbl.key)}"
        with self.connect() as con:
            self._ensure(con, tbl)
            return con.execute(sql, [_param(start), _param(end)]).pl()

    def table_hash(self, name: str) -> str:
        """An order-independent fingerprint of a table's content (for idempotency checks)."""
        tbl = table(name)
        with self.connect() as con:
            self._ensure(con, tbl)
            row = con.execute(
                f"SELECT count(*), coalesce(bit_xor(hash(t)), 0)::VARCHAR FROM {tbl.name} AS t"
            ).fetchone()
        assert row is not None
        return f"{row[0]}:{row[1]}"

    # -- publish ---------------------------------------------------------------------------------------

    def publish(self, serving_path: str | Path, tables: Sequence[Table], views: Sequence[tuple[str, str]] = ()) -> Path:
        """Copy ``tables`` (time-sorted) and ``views`` into a new file and rename it over ``serving_path``.

        Readers that have the old file open keep seeing it; new connections see the new one. The rename is
        atomic on one file system, so no reader ever sees a half-written serving file.
        """
        target = Path(serving_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
        try:
            with self.connect() as con:
                self._ensure_all(con)
                con.execute(
                    f"ATTACH {_sql_literal(str(tmp))} AS serving_snapshot (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')"
                )
                try:
                    for tbl in tables:
                        order = f" ORDER BY {tbl.time_column}" if tbl.time_column else ""
                        con.execute(f"CREATE TABLE serving_snapshot.{tbl.name} AS SELECT * FROM {tbl.name}{order}")
                    for view_name, view_sql in views:
                        con.execute(f"CREATE VIEW serving_snapshot.{view_name} AS {view_sql}")
                    con.execute("CHECKPOINT serving_snapshot")
                finally:
                    con.execute("DETACH serving_snapshot")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                if leftover.exists():
                    leftover.unlink()
        return target


def _partitioned(name: str) -> Table:
    tbl = table(name)
    if tbl.time_column is None:
        raise WarehouseError(f"{name} is not a partitioned table")
    return tbl


def _prepare(tbl: Table, frame: pl.DataFrame) -> pl.DataFrame:
    declared = list(tbl.column_names)
    extra = [c for c in frame.columns if c not in declared]
    missing = [c for c in declared if c not in frame.columns]
    if extra or missing:
        raise WarehouseError(
            f"{tbl.name}: frame does not match the declared columns"
            + (f"; undeclared: {', '.join(extra)}" if extra else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    out = frame.select(declared)
    # The warehouse stores naive UTC timestamps (readable the same way by every DuckDB client).
    fixes = [
        pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for c, dtype in out.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    ]
    return out.with_columns(fixes) if fixes else out


def _check_inside(tbl: Table, rows: pl.DataFrame, start: dt.datetime | dt.date, end: dt.datetime | dt.date) -> None:
    if rows.is_empty():
        return
    assert tbl.time_column is not None
    col = rows.get_column(tbl.time_column)
    lo, hi = col.min(), col.max()
    s, e = _param(start), _param(end)
    if lo is None or hi is None or lo < s or hi >= e:  # type: ignore[operator]
        raise WarehouseError(
            f"{tbl.name}: rows from {lo!s} to {hi!s} fall outside the partition [{s}, {e}); nothing was written"
        )


def _insert(con: duckdb.DuckDBPyConnection, tbl: Table, rows: pl.DataFrame) -> int:
    if rows.is_empty():
        return 0
    view = f"__batch_{uuid.uuid4().hex[:8]}"
    con.register(view, rows.to_arrow())
    try:
        cols = ", ".join(tbl.column_names)
        con.execute(f"INSERT INTO {tbl.name} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)
    return rows.height


def _in_transaction(con: duckdb.DuckDBPyConnection, tbl: Table, work: Any) -> int:
    con.execute("BEGIN TRANSACTION")
    try:
        result = int(work())
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return result


def _create_or_evolve(con: duckdb.DuckDBPyConnection, tbl: Table) -> None:
    """Create the table, or add columns declared since it was created (older rows read as NULL)."""
    con.execute(tbl.ddl())
    existing = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'",
            [tbl.name],
        ).fetchall()
    }
    for col in tbl.columns:
        if col.name not in existing:
            con.execute(f"ALTER TABLE {tbl.name} ADD COLUMN {col.name} {col.type}")


def _param(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

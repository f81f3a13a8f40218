"""The landing zone: where collectors put immutable batches and pipelines read them by hour.

Layout: ``landing/<source>/date=YYYY-MM-DD/hour=HH/<producer>-<start>-<seq>.parquet`` (UTC). A batch that
spans several hours is split so that each file belongs to exactly one hourly partition, which is what lets
a pipeline re-read one hour (for example after a late file) without touching the others.

Writes are atomic (temporary name, then rename). Writing the same rows again under the same producer and
start time is a no-op, so re-running a collector or the simulator over the same span changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from collectors import atomic
from collectors.layout import DataRoot
from collectors.schemas import LandingSchema, conform, schema_for

_PRODUCER_OK = re.compile(r"[^A-Za-z0-9_.=-]+")
HOUR = dt.timedelta(hours=1)


def hour_floor(ts: dt.datetime) -> dt.datetime:
    """The UTC hour that contains ``ts`` (naive timestamps are taken as UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def safe_producer(producer: str) -> str:
    """Producer names become file names: keep them to a portable alphabet."""
    cleaned = _PRODUCER_OK.sub("_", producer).strip("._")
    if not cleaned:
        raise ValueError(f"producer name {producer!r} has no usable characters")
    return cleaned


class LandingZone:
    """Reads and writes the landing zone under one data root."""

    def __init__(self, root: DataRoot | Path | str) -> None:
        self.root = root if isinstance(root, DataRoot) else DataRoot.at(root)

    def hour_dir(self, source: str, hour: dt.datetime) -> Path:
        h = hour_floor(hour)
        return self.root.landing / source / f"date={h:%Y-%m-%d}" / f"hour={h:%H}"

    def write_batch(self, source: str, producer: str, frame: pl.DataFrame) -> list[Path]:
        """Conform ``frame`` to the source's schema, split it by UTC hour and land one file per hour.

        Returns the files written (or found identical already). An empty frame lands nothing.
        """
        schema = schema_for(source)
        rows = conform(frame, schema, origin=f"batch from {producer}")
        if rows.is_empty():
            return []
        name = safe_producer(producer)
        tcol = schema.time_column
        rows = rows.with_columns(pl.col(tcol).dt.truncate("1h").alias("__hour")).sort(["__hour", tcol])
        written: list[Path] = []
        for (hour,), part in rows.group_by(["__hour"], maintain_order=True):
            assert isinstance(hour, dt.datetime)
            part = part.drop("__hour")
            start = part.get_column(tcol).min()
            assert isinstance(start, dt.datetime)
            written.append(self._land(source, hour, f"{name}-{start:%Y%m%dT%H%M%SZ}", part))
        return written

    def write_named(self, source: str, stem: str, frame: pl.DataFrame) -> list[Path]:
        """Land rows under a caller-chosen stem (e.g. the content hash of an inbox file), split by hour.

        Used for file drops: the same file delivered twice yields the same landed names and bytes, so it
        is never counted twice.
        """
        schema = schema_for(source)
        rows = conform(frame, schema, origin=stem)
        if rows.is_empty():
            return []
        tcol = schema.time_column
        rows = rows.with_columns(pl.col(tcol).dt.truncate("1h").alias("__hour")).sort(["__hour", tcol])
        out: list[Path] = []
        for (hour,), part in rows.group_by(["__hour"], maintain_order=True):
            assert isinstance(hour, dt.datetime)
            out.append(self._land(source, hour, safe_producer(stem), part.drop("__hour")))
        return out

    def _land(self, source: str, hour: dt.datetime, stem: str, part: pl.DataFrame) -> Path:
        directory = self.hour_dir(source, hour)
        seq = 0
        while True:
            target = directory / f"{stem}-{seq:04d}.parquet"
            if not target.exists():
                atomic.write_parquet(target, part)
                return target
            if pl.read_parquet(target).equals(part):
                return target
            seq += 1

    def files_for_hour(self, source: str, hour: dt.datetime) -> list[Path]:
        directory = self.hour_dir(source, hour)
        if not directory.is_dir():
            return []
        return sorted(p for p in directory.glob("*.parquet") if not atomic.is_temporary(p))

    def read_hours(self, source: str, hours: Iterable[dt.datetime]) -> pl.DataFrame:
        """All rows landed for the given hours, conformed to today's schema (older files gain null columns)."""
        schema = schema_for(source)
        files = [f for h in sorted({hour_floor(h) for h in hours}) for f in self.files_for_hour(source, h)]
        return read_files(files, schema)

    def read_hour(self, source: str, hour: dt.datetime) -> pl.DataFrame:
        return self.read_hours(source, [hour])

    def read_range(self, source: str, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """Rows of every hour in [start, end)."""
        hours = []
        h = hour_floor(start)
        while h < end:
            hours.append(h)
            h += HOUR
        return self.read_hours(source, hours)

    def hours_present(self, source: str) -> list[dt.datetime]:
        """Hours that have at least one landed file, oldest first."""
        base = self.root.landing / source
        found: list[dt.datetime] = []
        for hour_dir in base.glob("date=*/hour=*"):
            if any(not atomic.is_temporary(p) for p in hour_dir.glob("*.parquet")):
                day = hour_dir.parent.name.removeprefix("date=")
                hh = hour_dir.name.removeprefix("hour=")
                found.append(dt.datetime.fromisoformat(f"{day}T{hh}:00:00+00:00"))
        return sorted(found)


def read_files(files: list[Path], schema: LandingSchema) -> pl.DataFrame:
    if not files:
        return schema.empty()
    frames = []
    for f in files:
        part = pl.read_parquet(f)
        extra = [c for c in part.columns if c not in schema.columns]
        frames.append(conform(part.drop(extra), schema, origin=str(f)))
    return pl.concat(frames, how="vertical")

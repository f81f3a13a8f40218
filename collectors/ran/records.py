"""The long record shape every RAN parser produces, and the small tables that make it cheap to build.

A 500 MB PM file holds tens of millions of values but only thousands of distinct periods, measured
objects and counter names. Parsers therefore emit integer ids per value and intern the repeated things
once in :class:`Tables`; :meth:`Tables.materialize` turns ids into columns with vectorised gathers, splits
counter names into counter and sub-counter and converts values into canonical units (``units.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from collectors.errors import InputError
from collectors.ran import names, units
from collectors.schemas import UTC_TS

#: Columns a parser produces per value before the constant columns (site, file, producer…) are added.
ID_SCHEMA = pl.Schema(
    {
        "period_id": pl.UInt32,
        "object_id": pl.UInt32,
        "counter_id": pl.UInt32,
        "vector_index": pl.Int32,
        "value": pl.Float64,
        "suspect": pl.Boolean,
    }
)

#: The most problems kept per file; the rest are counted in one closing problem.
MAX_PROBLEMS = 200


@dataclass
class ParseResult:
    """What one file yields: records conformed to ``RAN_PM`` and the problems stepped over (good rows kept)."""

    records: pl.DataFrame
    problems: list[InputError] = field(default_factory=list)
    source_format: str = ""


class Problems:
    """Collects per-record problems of one file, capped so that a broken 1 GB file cannot exhaust memory."""

    def __init__(self, origin: str, cap: int = MAX_PROBLEMS) -> None:
        self.origin = origin
        self.cap = cap
        self.items: list[InputError] = []
        self.dropped = 0
        self._notes: set[str] = set()

    def add(self, reason: str, *, line: int | None = None, field: str | None = None) -> None:
        if len(self.items) < self.cap:
            self.items.append(InputError(reason, file=self.origin, line=line, field=field))
        else:
            self.dropped += 1

    def once(self, key: str, reason: str, *, line: int | None = None, field: str | None = None) -> None:
        """Report a file-wide condition (e.g. times without a zone) only the first time it is seen."""
        if key not in self._notes:
            self._notes.add(key)
            self.add(reason, line=line, field=field)

    def finish(self) -> list[InputError]:
        out = list(self.items)
        if self.dropped:
            out.append(InputError(f"{self.dropped} more problem(s) not listed", file=self.origin))
        return out


class Tables:
    """Interned periods, measured objects and counters of one file, plus the unit systems to read it with."""

    def __init__(self, systems: Sequence[str]) -> None:
        self.systems = tuple(units.check_system(s) for s in systems)
        self._periods: dict[tuple[dt.datetime, dt.datetime], int] = {}
        self._objects: dict[tuple[str, str], int] = {}
        self._counters: dict[tuple[str, str | None, bool], int] = {}

    def period(self, start: dt.datetime, end: dt.datetime) -> int:
        key = (start, end)
        found = self._periods.get(key)
        if found is None:
            found = self._periods[key] = len(self._periods)
        return found

    def obj(self, managed_element: str, measured_object: str) -> int:
        key = (managed_element, measured_object)
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = len(self._objects)
        return found

    def reset_objects(self) -> None:
        """Forget the measured objects after a batch is materialised: an OSS file can name millions of them,
        and keeping them all would make memory grow with the file (periods and counters stay few)."""
        self._objects.clear()

    def counter(self, name: str, sub_counter: str | None = None, *, split: bool = True) -> int:
        """Intern a counter. A 3GPP name is split into counter and sub-counter (``DRB.UEThpDl.01``) unless
        ``sub_counter`` is given or ``split`` is false (source-native names that merely contain dots)."""
        key = (name, sub_counter, split and sub_counter is None)
        found = self._counters.get(key)
        if found is None:
            found = self._counters[key] = len(self._counters)
        return found

    def counter_name(self, counter_id: int) -> str | None:
        for (name, _sub, _split), i in self._counters.items():
            if i == counter_id:
                return name
        return None

    def materialize(self, ids: pl.DataFrame) -> pl.DataFrame:
        """Turn a frame of ``ID_SCHEMA`` into record columns (without the per-file constant columns)."""
        periods = pl.DataFrame(
            {
                "period_start": [k[0] for k in self._periods],
                "period_end": [k[1] for k in self._periods],
            },
            schema={"period_start": UTC_TS, "period_end": UTC_TS},
        ).with_columns(
            ((pl.col("period_end") - pl.col("period_start")).dt.total_microseconds() / 1e6)
            .round(0)
            .clip(lower_bound=1)
            .cast(pl.Int32)
            .alias("granularity_s")
        )
        objects = pl.DataFrame(
            {
                "managed_element": [k[0] for k in self._objects],
                "measured_object": [k[1] for k in self._objects],
                "cell": [names.cell_of(k[1]) for k in self._objects],
            },
            schema={"managed_element": pl.String, "measured_object": pl.String, "cell": pl.String},
        )
        counters = self._counter_frame()
        pid, oid, cid = ids.get_column("period_id"), ids.get_column("object_id"), ids.get_column("counter_id")
        out = pl.concat(
            [
                periods.select(pl.all().gather(pid)),
                objects.select(pl.all().gather(oid)),
                counters.select(pl.all().gather(cid)),
                ids.select("vector_index", "value", "suspect"),
            ],
            how="horizontal",
        )
        return out.with_columns(
            pl.when(pl.col("factor").is_null())
            .then(pl.col("value"))
            .otherwise(pl.col("value") * pl.col("factor"))
            .alias("value")
        ).select(RECORD_COLUMNS)

    def _counter_frame(self) -> pl.DataFrame:
        base, sub, unit, factor = [], [], [], []
        for name, given_sub, split in self._counters:
            counter, sub_counter = names.split_counter(name) if split else (name, given_sub)
            conv = self._conversion(counter)
            base.append(counter)
            sub.append(sub_counter)
            unit.append(conv.unit if conv else None)
            factor.append(conv.factor if conv and conv.factor != 1.0 else None)
        return pl.DataFrame(
            {"counter": base, "sub_counter": sub, "unit": unit, "factor": factor},
            schema={"counter": pl.String, "sub_counter": pl.String, "unit": pl.String, "factor": pl.Float64},
        )

    def _conversion(self, counter: str) -> units.Conversion | None:
        for system in self.systems:
            conv = units.conversion(system, counter)
            if conv is not None:
                return conv
        return None


RECORD_COLUMNS = [
    "period_start",
    "period_end",
    "granularity_s",
    "managed_element",
    "measured_object",
    "cell",
    "counter",
    "sub_counter",
    "vector_index",
    "value",
    "suspect",
    "unit",
]


class ValueBuffer:
    """Per-value columns for parsers that read numbers one at a time (JSON formats)."""

    def __init__(self) -> None:
        self.period_id: list[int] = []
        self.object_id: list[int] = []
        self.counter_id: list[int] = []
        self.vector_index: list[int | None] = []
        self.value: list[float | None] = []
        self.suspect: list[bool] = []

    def add(
        self,
        period: int,
        obj: int,
        counter: int,
        value: float | None,
        *,
        suspect: bool = False,
        index: int | None = None,
    ) -> None:
        self.period_id.append(period)
        self.object_id.append(obj)
        self.counter_id.append(counter)
        self.vector_index.append(index)
        self.value.append(value)
        self.suspect.append(suspect)

    def __len__(self) -> int:
        return len(self.value)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "period_id": self.period_id,
                "object_id": self.object_id,
                "counter_id": self.counter_id,
                "vector_index": self.vector_index,
                "value": self.value,
                "suspect": self.suspect,
            },
            schema=ID_SCHEMA,
        )

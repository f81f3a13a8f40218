"""Meter exports from a BMS, EPMS or DCIM as CSV: the long and the wide layout, into ``facility`` rows.

Long (what the simulator and most DCIM "trend export" jobs write)::

    timestamp,meter_id,value[,unit][,reset_at]
    2026-11-20T13:00:00+09:00,tyo1-utility-kwh,1523004.117

Wide (one column per meter, the other common BMS export)::

    timestamp,tyo1-utility-kwh,tyo1-ups-a-kwh
    2026-11-20T13:00:00+09:00,1523004.117,88410.2

Quantity and unit come from the meter registry; an optional ``unit`` column overrides the unit per row
(same kind only). Timestamps are ISO 8601; a timestamp without an offset is read in the site's time zone
and flagged. ``;``-separated files with decimal commas (European exports) are recognised from the header.
A row that cannot be used (bad number, unknown meter, meter of another site) is reported with its line and
kept out; the file fails as a whole only when it has no header or no usable row at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from collectors.errors import ConfigError, InputError
from collectors.facility.registry import POWER_UNITS, REGISTER_UNITS, Meter, MeterRegistry
from collectors.schemas import FACILITY_READING, conform

TIME_HEADERS = ("timestamp", "time", "ts", "datetime", "date_time", "reading_time")
ID_HEADERS = ("meter_id", "meter", "point", "id")
VALUE_HEADERS = ("value", "reading")
UNIT_HEADERS = ("unit",)
RESET_HEADERS = ("reset_at", "register_reset_at")
SOURCE = "meter_csv"


@dataclass
class ParseResult:
    """Rows read from one file (conformed ``facility`` shape) and the problems stepped over."""

    records: pl.DataFrame
    problems: list[InputError] = field(default_factory=list)


@dataclass
class _Columns:
    time: int
    meter: int | None = None
    value: int | None = None
    unit: int | None = None
    reset: int | None = None
    wide: dict[int, str] = field(default_factory=dict)


class _Reader:
    """State of one file: rows collected, problems, per-meter complaints folded into one line each."""

    def __init__(self, path: Path, registry: MeterRegistry, site: str | None, zone: ZoneInfo, producer: str) -> None:
        self.path = path
        self.registry = registry
        self.site = site
        self.zone = zone
        self.producer = producer
        self.rows: dict[str, list[object]] = {
            c: [] for c in ("ts", "site", "meter_id", "energy_kwh", "power_w", "reset")
        }
        self.problems: list[InputError] = []
        self.folded: dict[tuple[str, str], list[int]] = {}
        self.naive_lines: list[int] = []
        self.decimal_comma = False
        self._times: dict[str, dt.datetime | str] = {}

    def problem(self, reason: str, line: int, column: str | None = None) -> None:
        self.problems.append(InputError(reason, file=self.path.name, line=line, field=column))

    def fold(self, reason: str, meter_id: str, line: int) -> None:
        """Complaints about a meter (unknown, wrong site) are reported once per file with a count."""
        self.folded.setdefault((meter_id, reason), []).append(line)

    def timestamp(self, text: str, line: int, column: str) -> dt.datetime | None:
        cached = self._times.get(text)
        if cached is None:
            cached = self._parse_time(text.strip())
            self._times[text] = cached
        if isinstance(cached, str):
            self.problem(cached, line, column)
            return None
        if cached.tzinfo is None:  # marker set by _parse_time for localised naive times
            self.naive_lines.append(line)
            return cached.replace(tzinfo=dt.UTC)
        return cached

    def _parse_time(self, text: str) -> dt.datetime | str:
        """UTC datetime, or a reason string. Naive inputs come back as *naive UTC* so callers can flag them."""
        if not text:
            return "empty timestamp"
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return f"not an ISO 8601 timestamp: {text!r}"
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        early = value.replace(tzinfo=self.zone, fold=0)
        late = value.replace(tzinfo=self.zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            back = early.astimezone(dt.UTC).astimezone(self.zone).replace(tzinfo=None)
            if back != value:
                return f"local time {text} does not exist in {self.zone.key} (clocks moved forward)"
            return f"local time {text} is ambiguous in {self.zone.key} (clocks moved back); add a UTC offset"
        return early.astimezone(dt.UTC).replace(tzinfo=None)

    def reading(
        self, ts: dt.datetime, meter_id: str, text: str, line: int, column: str, unit: str | None, reset: object
    ) -> None:
        meter = self.registry.by_id(meter_id, at=ts)
        if meter is None:
            known = self.registry.by_id(meter_id) is not None
            self.fold(
                "is not valid at this time in the registry" if known else "is not in the registry", meter_id, line
            )
            return
        if self.site is not None and meter.site != self.site:
            self.fold(f"belongs to site {meter.site!r}, but the file came for site {self.site!r}", meter_id, line)
            return
        value = _number(text, self.decimal_comma)
        if value is None:
            self.problem(f"not a number: {text!r}", line, column)
            return
        factor = _factor(meter, unit)
        if isinstance(factor, str):
            self.problem(factor, line, "unit")
            return
        rows = self.rows
        if meter.quantity == "energy_register":
            if value < 0:
                self.problem(f"negative register reading {text!r} (unsupported or missing value?)", line, column)
                return
            rows["energy_kwh"].append(value * factor)
            rows["power_w"].append(None)
        else:
            rows["energy_kwh"].append(None)
            rows["power_w"].append(value * factor)
        rows["ts"].append(_epoch_us(ts))
        rows["site"].append(meter.site)
        rows["meter_id"].append(meter_id)
        rows["reset"].append(reset)

    def finish(self) -> ParseResult:
        for (meter_id, reason), lines in self.folded.items():
            count = f"{len(lines)} row{'s' if len(lines) > 1 else ''}"
            self.problems.append(
                InputError(f"meter {meter_id!r} {reason} ({count} kept out)", file=self.path.name, line=lines[0])
            )
        if self.naive_lines:
            self.problems.append(
                InputError(
                    f"{len(self.naive_lines)} timestamp(s) without a UTC offset read as {self.zone.key} local time",
                    file=self.path.name,
                    line=self.naive_lines[0],
                    field="timestamp",
                )
            )
        n = len(self.rows["ts"])
        frame = pl.DataFrame(
            {
                "ts": pl.Series(self.rows["ts"], dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "site": pl.Series(self.rows["site"], dtype=pl.String),
                "meter_id": pl.Series(self.rows["meter_id"], dtype=pl.String),
                "energy_kwh": pl.Series(self.rows["energy_kwh"], dtype=pl.Float64),
                "power_w": pl.Series(self.rows["power_w"], dtype=pl.Float64),
                "register_reset_at": pl.Series(self.rows["reset"], dtype=pl.Datetime("us", "UTC")),
                "source": [SOURCE] * n,
                "producer": [self.producer] * n,
                "source_file": [self.path.name] * n,
            }
        )
        return ParseResult(conform(frame, FACILITY_READING, origin=self.path.name), self.problems)


def read_meter_csv(
    path: Path,
    registry: MeterRegistry,
    *,
    site: str | None = None,
    timezone: str = "UTC",
    producer: str = SOURCE,
) -> ParseResult:
    """Read one meter CSV (long or wide layout) into ``facility`` rows.

    ``site`` is the site the file was delivered for (its inbox folder); rows of meters registered to another
    site are kept out. ``timezone`` (IANA name) is used for timestamps without an offset.
    Raises :class:`InputError` when the file cannot be read at all.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {timezone!r}", file=path.name) from None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}); export the CSV as UTF-8", file=path.name) from None
    reader = _Reader(path, registry, site, zone, producer)
    rows = _rows(text, reader)
    header_line, header = next(rows, (0, []))
    if not any(cell.strip() for cell in header):
        raise InputError("empty file: no header line", file=path.name)
    columns = _layout(header, path.name, header_line)
    data_rows = 0
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        data_rows += 1
        _read_row(reader, columns, header, row, line)
    result = reader.finish()
    if data_rows and result.records.is_empty():
        first = reader.problems[0]
        raise InputError(
            f"no usable row in {data_rows} data row(s); first problem: {first.reason}",
            file=path.name,
            line=first.line,
            field=first.field,
        )
    return result


def _rows(text: str, reader: _Reader) -> Iterator[tuple[int, list[str]]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader.decimal_comma = delimiter == ";"
    parsed = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for row in parsed:
        yield start, row
        start = parsed.line_num + 1


def _layout(header: list[str], name: str, line: int) -> _Columns:
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]

    def find(options: tuple[str, ...]) -> int | None:
        return next((lowered.index(o) for o in options if o in lowered), None)

    time = find(TIME_HEADERS)
    if time is None:
        raise InputError(
            f"no timestamp column (expected one of {', '.join(TIME_HEADERS)}; got {', '.join(names)})",
            file=name,
            line=line,
        )
    meter, value = find(ID_HEADERS), find(VALUE_HEADERS)
    if meter is not None and value is not None:
        return _Columns(time=time, meter=meter, value=value, unit=find(UNIT_HEADERS), reset=find(RESET_HEADERS))
    wide = {i: n for i, n in enumerate(names) if i != time and n}
    if not wide:
        raise InputError(
            "no meter columns: expected timestamp,meter_id,value or timestamp,<meter id>,…", file=name, line=line
        )
    return _Columns(time=time, wide=wide)


def _read_row(reader: _Reader, columns: _Columns, header: list[str], row: list[str], line: int) -> None:
    def cell(index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""

    if len(row) > len(header):
        reader.problem(f"{len(row)} fields but the header has {len(header)}", line)
        return
    ts = reader.timestamp(cell(columns.time), line, header[columns.time].strip())
    if ts is None:
        return
    if not columns.wide:
        meter_id = cell(columns.meter)
        if not meter_id:
            reader.problem("empty meter id", line, "meter_id")
            return
        reset: dt.datetime | None = None
        if cell(columns.reset):
            reset = reader.timestamp(cell(columns.reset), line, "reset_at")
            if reset is None:
                return
        value_name = header[columns.value].strip() if columns.value is not None else "value"
        reader.reading(ts, meter_id, cell(columns.value), line, value_name, cell(columns.unit) or None, reset)
        return
    for index, meter_id in columns.wide.items():
        if cell(index):
            reader.reading(ts, meter_id, cell(index), line, meter_id, None, None)


def _epoch_us(ts: dt.datetime) -> int:
    return (ts - _EPOCH) // _ONE_US


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


def _number(text: str, decimal_comma: bool) -> float | None:
    if decimal_comma:
        text = text.replace(".", "").replace(",", ".") if "," in text else text
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _factor(meter: Meter, unit: str | None) -> float | str:
    """kWh or W per unit of this row: the registry's unit unless the row names another of the same kind."""
    if unit is None or unit == meter.unit:
        return meter.unit_factor
    table = REGISTER_UNITS if meter.quantity == "energy_register" else POWER_UNITS
    if unit not in table:
        kind = "energy" if meter.quantity == "energy_register" else "power"
        return f"unit {unit!r} is not a {kind} unit for meter {meter.id!r} (registry says {meter.unit})"
    return table[unit]

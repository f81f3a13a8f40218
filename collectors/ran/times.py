"""Times and durations as PM files really write them.

TS 32.435 says ``xs:dateTime`` and ``xs:duration``, but real files write offsets without a colon
(``2023-05-15T07:00:00+0100``), with a seconds field (``-05:00:00``, Nokia), or no zone at all (the
Dialogic sample, C-type files). Offsets are repaired; a zone-less time is read in a caller-given default
zone and reported, never guessed silently.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collectors.errors import InputError

_DATETIME = re.compile(
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)"
    r"(?P<zone>Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?\s*$"
)
_DURATION = re.compile(
    r"^\s*(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?\s*$"
)


def zone(name: str | dt.tzinfo) -> dt.tzinfo:
    """An IANA zone name (``Asia/Tokyo``), ``UTC``, or a fixed offset (``+09:00``) as a tzinfo."""
    if isinstance(name, dt.tzinfo):
        return name
    if name.upper() in ("UTC", "Z"):
        return dt.UTC
    offset = _offset(name)
    if offset is not None:
        return offset
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r} (use an IANA name such as Asia/Tokyo, or +09:00)") from exc


def _offset(text: str) -> dt.timezone | None:
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?(?::?(\d{2}))?", text.strip())
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    hours, minutes, seconds = int(m.group(2)), int(m.group(3) or 0), int(m.group(4) or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes, seconds=seconds))


@lru_cache(maxsize=4096)
def parse_datetime(text: str, default_tz: dt.tzinfo = dt.UTC) -> tuple[dt.datetime, bool]:
    """``(UTC datetime, had_zone)``; raises ``ValueError`` for text that is not a date-time at all."""
    m = _DATETIME.match(text)
    if not m:
        raise ValueError(f"{text!r} is not an ISO 8601 / xs:dateTime value")
    clock = m.group("time").replace(",", ".")
    if clock.count(":") == 1:
        clock += ":00"
    naive = dt.datetime.fromisoformat(f"{m.group('date')}T{clock}")
    raw_zone = m.group("zone")
    if raw_zone is None:
        # An ambiguous wall time (the repeated hour at a DST change) is read as its first occurrence (fold=0).
        return naive.replace(tzinfo=default_tz).astimezone(dt.UTC), False
    tz = dt.UTC if raw_zone in ("Z", "z") else _offset(raw_zone)
    if tz is None:
        raise ValueError(f"{text!r} has an invalid UTC offset {raw_zone!r}")
    return naive.replace(tzinfo=tz).astimezone(dt.UTC), True


@lru_cache(maxsize=1024)
def parse_duration_s(text: str) -> float:
    """Seconds of an ``xs:duration`` such as ``PT900S``, ``PT15M``, ``PT1H`` or ``P1D``.

    Years and months are refused: their length depends on the calendar, and no PM granularity uses them.
    """
    m = _DURATION.match(text)
    if not m or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(f"{text!r} is not an xs:duration (e.g. PT900S, PT15M, PT1H)")
    if m.group("sign"):
        raise ValueError(f"{text!r} is negative; a granularity period must be positive")
    if m.group("years") or m.group("months"):
        raise ValueError(f"{text!r} uses years or months, whose length varies; use days, hours, minutes or seconds")
    seconds = (
        int(m.group("days") or 0) * 86400
        + int(m.group("hours") or 0) * 3600
        + int(m.group("minutes") or 0) * 60
        + float(m.group("seconds") or 0)
    )
    if seconds <= 0:
        raise ValueError(f"{text!r} is zero; a granularity period must be positive")
    return seconds


def epoch_us_to_utc(value: float) -> tuple[dt.datetime, bool]:
    """A VES ``*EpochMicrosec`` value as UTC; ``(time, looked_like_ms)``.

    Some producers (the O-RAN SC PM converter, for one) write milliseconds into the microsecond fields; a
    value below 1e13 would put the event before 26 April 1970 if read as microseconds, so it is read as
    milliseconds and reported.
    """
    as_ms = abs(value) < 1e13
    micros = value * 1000 if as_ms else value
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros)), as_ms

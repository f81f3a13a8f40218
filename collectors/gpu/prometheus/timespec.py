"""Durations and times as Prometheus users write them.

Durations use Prometheus' syntax (``30s``, ``5m``, ``1h30m``, ``2d``, ``1w``, ``500ms``; a bare number is
seconds), so ``--interval`` and ``--step`` read like a ``scrape_interval``. Times are RFC 3339
(``2026-11-20T13:00:00Z``; a naive time is UTC), a date (``2026-11-20`` = midnight UTC), a Unix timestamp,
``now``, or ``now-7d`` style offsets.
"""

from __future__ import annotations

import datetime as dt
import re

from collectors.errors import InputError

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "y": 31_536_000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_RELATIVE = re.compile(r"now(?:\s*-\s*(.+))?")


def parse_duration(text: str, *, field: str = "duration") -> float:
    """Seconds in a Prometheus-style duration; :class:`InputError` naming ``field`` if it is not one."""
    raw = text.strip()
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if value > 0:
            return value
        raise InputError(f"{text!r} is not a positive duration", field=field)
    pos = 0
    total = 0.0
    for m in _PART.finditer(raw):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(raw) or total <= 0:
        raise InputError(f"{text!r} is not a duration like 30s, 5m, 1h30m or 7d", field=field)
    return total


def parse_time(text: str, *, now: dt.datetime | None = None, field: str = "time") -> dt.datetime:
    """An aware UTC datetime from RFC 3339, a date, a Unix timestamp or ``now[-duration]``."""
    raw = text.strip()
    now = now or dt.datetime.now(dt.UTC)
    rel = _RELATIVE.fullmatch(raw)
    if rel:
        return now - dt.timedelta(seconds=parse_duration(rel.group(1), field=field)) if rel.group(1) else now
    try:
        return dt.datetime.fromtimestamp(float(raw), dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        reason = f"{text!r} is not a time (RFC 3339, a date, a Unix timestamp or now-7d)"
        raise InputError(reason, field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)

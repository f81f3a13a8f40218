"""ISO 8601 timestamps from documents we do not control (Redfish JSON, quarantine reason files).

One rule everywhere: a timestamp without an offset is read as UTC, anything that is not an ISO string is
"unknown" (None) rather than an error, because the caller always has a better fallback (the poll time, the
sweep time) than failing the whole document over one field.
"""

from __future__ import annotations

import datetime as dt


def utc_or_none(value: object) -> dt.datetime | None:
    """``value`` as an aware UTC datetime; None when it is absent or not an ISO 8601 string."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)

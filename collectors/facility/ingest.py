"""Sweep the ``meter_csv`` inbox: read each BMS/DCIM export once, land its rows, archive or quarantine it.

``inbox/meter_csv/<site>/…csv``: the folder names the site the file was delivered for. Rows are landed by
the file's content hash (``LandingZone.write_named``), so a file delivered twice is counted once.
"""

from __future__ import annotations

from collections.abc import Mapping

from collectors.facility.meter_csv import ParseResult, read_meter_csv
from collectors.facility.registry import MeterRegistry
from collectors.inbox import Inbox, InboxFile, IngestReport, ingest
from collectors.layout import DataRoot

KIND = "meter_csv"


def ingest_meter_inbox(
    root: DataRoot,
    registry: MeterRegistry,
    *,
    min_age_s: float = 0.0,
    timezones: Mapping[str, str] | None = None,
    default_timezone: str = "UTC",
) -> IngestReport:
    """Read every pending meter CSV once (see :func:`collectors.inbox.ingest`).

    ``timezones`` maps a site to its IANA time zone, used only for timestamps without a UTC offset.
    """
    zones = dict(timezones or {})

    def parse(item: InboxFile) -> ParseResult:
        zone = zones.get(item.site, default_timezone) if item.site else default_timezone
        return read_meter_csv(item.path, registry, site=item.site, timezone=zone)

    return ingest(Inbox(root, KIND), "facility", parse, min_age_s=min_age_s)

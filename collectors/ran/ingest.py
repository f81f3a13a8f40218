"""The RAN PM inbox: an OSS drops files under ``inbox/ran_pm/<site>/``; each is parsed once and landed.

Rows land in the ``ran_pm`` landing source under the file's content hash, split by the hour their
period starts in (so a late file touches exactly the hours it carries); originals move to the archive,
unreadable files to quarantine with a ``.reason.json``. The Dagster sensor (the lead's) calls
:func:`ingest_pm_inbox` and re-materialises ``IngestReport.touched_hours``.

Content seen before is not landed again, whatever its name: an OSS that re-sends a ROP file under a
new name (retries, ``_-_2`` suffixes) must not double the counters. A small marker per content hash under
``archive/ran_pm/.sha256/`` remembers what was landed; it is written only after the sweep has landed and
archived the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from collectors import atomic
from collectors.errors import InputError
from collectors.inbox import Inbox, InboxFile, IngestReport, ingest
from collectors.layout import DataRoot
from collectors.ran.parse import parse_file
from collectors.ran.records import ParseResult
from collectors.schemas import RAN_PM

log = logging.getLogger(__name__)

KIND = "ran_pm"
PRODUCER = "ran-pm-inbox"
SEEN_DIR = ".sha256"


def ingest_pm_inbox(
    root: DataRoot,
    *,
    default_site: str | None = None,
    min_age_s: float = 0.0,
    default_tz: str | dt.tzinfo = "UTC",
) -> IngestReport:
    """Parse and land every pending file of ``inbox/ran_pm``; quarantine what cannot be read.

    The site is the file's first sub-directory (``inbox/ran_pm/tyo1/…`` or ``…/site=tyo1/…``), else
    ``default_site``; a file with neither is quarantined with that reason. ``min_age_s`` skips files
    still being written by an OSS that does not write atomically; ``default_tz`` reads zone-less times.
    """
    seen_dir = root.archive(KIND) / SEEN_DIR
    parsed: list[InboxFile] = []

    def parse(item: InboxFile) -> ParseResult:
        site = item.site or default_site
        if not site:
            raise InputError(
                "no site: put the file under inbox/ran_pm/<site>/ or configure a default site",
                file=item.path.name,
            )
        marker = seen_dir / item.sha256
        if marker.exists():
            first = json.loads(marker.read_text())
            note = f"same content as {first['file']!r} ingested at {first['ingested_at']}; not landed again"
            return ParseResult(RAN_PM.empty(), [InputError(note, file=item.path.name)], source_format="duplicate")
        try:
            result = parse_file(
                item.path,
                site=site,
                producer=PRODUCER,
                default_tz=default_tz,
                sha256=item.sha256,
                source_file=item.path.name,
            )
        except InputError:
            raise
        except Exception as exc:  # a parser bug must not stop the sweep: quarantine the file, keep going
            log.exception("parsing %s failed", item.path)
            raise InputError(f"could not be parsed ({type(exc).__name__}: {exc})", file=item.path.name) from exc
        parsed.append(item)
        return result

    report = ingest(Inbox(root, KIND), KIND, parse, min_age_s=min_age_s)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    ok = set(report.files_ok)
    for item in parsed:
        if item.path.name in ok and not item.path.exists():  # landed and archived
            detail = {"file": item.path.name, "site": item.site or default_site, "ingested_at": now}
            atomic.write_text(seen_dir / item.sha256, json.dumps(detail) + "\n")
    return report

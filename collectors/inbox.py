"""File-drop inboxes: where an OSS, BMS or DCIM export drops files for aigrid to pick up.

``inbox/<kind>/[<site>/]<file>``: the optional first sub-directory names the site the file belongs to, so
an operator can point each site's OSS at its own folder. After a file is read its original is moved to
``archive/<kind>/date=YYYY-MM-DD/``; a file that cannot be read moves to ``quarantine/<kind>/`` with a
``<file>.reason.json`` beside it. Nothing is deleted, and a file is never read twice: landed rows are named
by the file's content hash.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from collectors import atomic
from collectors.errors import InputError
from collectors.layout import DataRoot
from collectors.schemas import schema_for


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str
    site: str | None
    sha256: str

    @property
    def stem(self) -> str:
        """Name under which this file's rows are landed: kind plus a content-hash prefix."""
        return f"{self.kind}-{self.sha256[:16]}"


class Inbox:
    def __init__(self, root: DataRoot | Path | str, kind: str) -> None:
        self.root = root if isinstance(root, DataRoot) else DataRoot.at(root)
        self.kind = kind
        self.directory = self.root.inbox(kind)

    def pending(self, *, min_age_s: float = 0.0) -> list[InboxFile]:
        """Files waiting to be read, oldest name first; files younger than ``min_age_s`` may still be growing."""
        if not self.directory.is_dir():
            return []
        now = time.time()
        found: list[InboxFile] = []
        for path in sorted(self.directory.rglob("*")):
            if not path.is_file() or atomic.is_temporary(path) or path.name.endswith(".reason.json"):
                continue
            if min_age_s and now - path.stat().st_mtime < min_age_s:
                continue
            rel = path.relative_to(self.directory)
            site = rel.parts[0] if len(rel.parts) > 1 else None
            if site is not None and site.startswith("site="):
                site = site.removeprefix("site=")
            found.append(InboxFile(path, self.kind, site, atomic.sha256_file(path)))
        return found

    def archive(self, item: InboxFile, *, today: dt.date | None = None) -> Path:
        """Move an ingested original to the archive (kept, never re-read)."""
        day = today or dt.datetime.now(dt.UTC).date()
        target = self.root.archive(self.kind) / f"date={day:%Y-%m-%d}" / _relative(item, self.directory)
        return _move(item.path, target)

    def quarantine(self, item: InboxFile, error: InputError | str) -> Path:
        """Move an unreadable file aside with a machine- and human-readable reason beside it."""
        target = self.root.quarantine(self.kind) / _relative(item, self.directory)
        arrived = dt.datetime.fromtimestamp(item.path.stat().st_mtime, dt.UTC)
        moved = _move(item.path, target)
        detail: dict[str, object] = error.as_dict() if isinstance(error, InputError) else {"reason": str(error)}
        detail.update(
            {
                "file": item.path.name,
                "kind": self.kind,
                "site": item.site,
                "sha256": item.sha256,
                "arrived_at": arrived.isoformat(timespec="seconds"),
                "quarantined_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
        atomic.write_text(moved.with_name(moved.name + ".reason.json"), json.dumps(detail, indent=2) + "\n")
        return moved


def quarantined(root: DataRoot, kind: str) -> list[dict[str, object]]:
    """Reasons of every quarantined file of a kind (for checks, data-quality marts and the UI).

    Each carries ``quarantined_as``, the held file's path relative to the data root, so a listing can say
    where to find the file to fix and re-drop.
    """
    base = root.quarantine(kind)
    if not base.is_dir():
        return []
    out: list[dict[str, object]] = []
    for reason in sorted(base.rglob("*.reason.json")):
        held = reason.with_name(reason.name.removesuffix(".reason.json"))
        try:
            detail = json.loads(reason.read_text())
        except (OSError, ValueError) as exc:  # hand-edited or damaged: still list the file, say why
            detail = {"reason": f"its reason file cannot be read: {exc}", "file": held.name, "kind": kind}
        if not isinstance(detail, dict):
            detail = {"reason": "its reason file holds no JSON object", "file": held.name, "kind": kind}
        detail["quarantined_as"] = held.relative_to(root.path).as_posix()
        out.append(detail)
    return out


def _relative(item: InboxFile, base: Path) -> Path:
    try:
        return item.path.relative_to(base)
    except ValueError:
        return Path(item.path.name)


def _move(src: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target = target.with_name(f"{target.stem}.{int(time.time() * 1000)}{target.suffix}")
    shutil.move(src, target)
    return target


@dataclass
class IngestReport:
    """What one sweep of an inbox did: files read, files quarantined (with reasons), rows landed, hours touched."""

    kind: str
    files_ok: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)
    records: int = 0
    hours: set[dt.datetime] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    @property
    def touched_hours(self) -> list[dt.datetime]:
        return sorted(self.hours)


class ParsedFile(Protocol):
    """What a parser returns for one file: the rows it could read and the problems it stepped over."""

    @property
    def records(self) -> pl.DataFrame: ...

    @property
    def problems(self) -> list[InputError]: ...


def ingest(
    inbox: Inbox,
    source: str,
    parse: Callable[[InboxFile], ParsedFile],
    *,
    min_age_s: float = 0.0,
) -> IngestReport:
    """Read every pending file of an inbox once: land its rows by content hash, then archive it.

    A file the parser rejects as a whole (``InputError``) is quarantined with the reason and the sweep goes
    on; problems with single records are reported but the file's good records are landed.
    """
    from collectors.landing import LandingZone

    landing = LandingZone(inbox.root)
    report = IngestReport(kind=inbox.kind)
    schema_time = schema_for(source).time_column
    for item in inbox.pending(min_age_s=min_age_s):
        arrived = item.path.stat().st_mtime
        try:
            parsed = parse(item)
            written = landing.write_named(source, item.stem, parsed.records)
            for path in written:
                # Landed rows keep the drop's arrival time, so data quality can tell a late drop from a late sweep.
                os.utime(path, (arrived, arrived))
        except InputError as exc:
            if exc.file is None:
                exc.file = item.path.name
            inbox.quarantine(item, exc)
            report.quarantined[item.path.name] = str(exc)
            continue
        report.files_ok.append(item.path.name)
        report.records += parsed.records.height
        report.problems.extend(str(p) for p in parsed.problems)
        if written and not parsed.records.is_empty():
            hours = parsed.records.get_column(schema_time).dt.truncate("1h").unique().to_list()
            report.hours.update(hours)
        inbox.archive(item)
    return report

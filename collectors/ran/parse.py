"""One entry point for every RAN PM source: detect the format from the content, parse, conform.

``parse_file`` is what the inbox ingest, the ``aigrid parse pm`` command and the simulator's files all go
through. It never trusts the file name: ``.xml.gz`` is recognised by its gzip magic, the format by the
root element or the JSON layout, and times come from inside the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from collectors import atomic
from collectors.errors import InputError
from collectors.ran import oai, srsran, ves
from collectors.ran.jsondocs import JsonDoc, load
from collectors.ran.meascollec import ROOTS, MeasFileParser
from collectors.ran.records import ParseResult, Problems, Tables, ValueBuffer
from collectors.ran.source import DEFAULT_MAX_BYTES, Progress, read_all, read_head
from collectors.ran.times import zone
from collectors.ran.units import check_system
from collectors.ran.xmlsafe import root_tag
from collectors.schemas import RAN_PM, conform

FORMATS = ("ts32435", "ts28532", "ves-perf3gpp", "ves-measurement", "oai-o1", "srsran")
#: JSON payloads are parsed as whole documents; they are small (one event / report per line).
MAX_JSON_BYTES = 256 * 1024**2
DEFAULT_OAI_INTERVAL_S = 60.0

_REFUSED_ROOTS = {
    "OMeS": "Nokia NetAct OMeS layout is not supported; export TS 32.435 XML from NetAct's 3GPP PM interface",
    "mdc": "legacy TS 32.401 measurement file (mdc/md/mi) is not supported; export TS 32.435 XML",
}


def detect_format(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The format of a file from its content; raises :class:`InputError` naming why it is refused."""
    head = read_head(path, 4096, max_bytes=max_bytes).lstrip(b"\xef\xbb\xbf \t\r\n")
    origin = str(path)
    if not head:
        raise InputError("empty file", file=origin)
    if head.startswith(b"<"):
        local, namespace = root_tag(path, max_bytes=max_bytes)
        if local in ROOTS:
            return ROOTS[local]
        if local in _REFUSED_ROOTS:
            raise InputError(_REFUSED_ROOTS[local], file=origin)
        where = f" in namespace {namespace}" if namespace else ""
        raise InputError(f"unknown XML root element <{local}>{where}: not a TS 32.435 or 28.532 PM file", file=origin)
    if head.startswith((b"{", b"[")):
        return "json"
    preview = head[:24].decode("utf-8", "replace")
    raise InputError(f"not a PM file: neither XML nor JSON (starts with {preview!r})", file=origin)


def parse_file(
    path: Path,
    *,
    site: str,
    producer: str = "ran-pm-inbox",
    default_tz: str | dt.tzinfo = "UTC",
    unit_system: str | None = None,
    sha256: str | None = None,
    source_file: str | None = None,
    observed_at: dt.datetime | None = None,
    interval_s: float | None = None,
    managed_element: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
) -> ParseResult:
    """Every record of one PM file, conformed to ``RAN_PM``, and the problems stepped over.

    ``default_tz`` reads times written without an offset; ``unit_system`` overrides the format's unit map
    (``oran-kpm`` for a VES feed that carries E2SM-KPM values); ``observed_at``/``interval_s`` time OAI
    ``o1 stats`` (which has no timestamp; default: file modification time, 60 s) and srsRAN reports;
    ``managed_element`` names the gNB for srsRAN metrics (default: the file name up to its first dot).
    Raises :class:`InputError` for a file refused as a whole.
    """
    problems = Problems(str(path))
    fmt, frames = _frames(
        path,
        problems=problems,
        default_tz=zone(default_tz),
        unit_system=check_system(unit_system) if unit_system else None,
        observed_at=observed_at,
        interval_s=interval_s,
        managed_element=managed_element,
        max_bytes=max_bytes,
        progress=progress,
    )
    parts = list(frames)
    records = pl.concat(parts, how="vertical") if parts else None
    digest = sha256 or atomic.sha256_file(path)
    out = _finish(records, path, fmt, site=site, producer=producer, sha256=digest, source_file=source_file)
    out = _drop_duplicates(out, problems)
    return ParseResult(records=out, problems=problems.finish(), source_format=fmt)


def iter_batches(
    path: Path,
    *,
    site: str,
    producer: str = "ran-pm-inbox",
    default_tz: str | dt.tzinfo = "UTC",
    sha256: str = "",
    problems: Problems | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[pl.DataFrame]:
    """Conformed record batches of a 32.435 / 28.532 file, for files too large to hold as one frame."""
    sink = problems or Problems(str(path))
    fmt, frames = _frames(
        path,
        problems=sink,
        default_tz=zone(default_tz),
        unit_system=None,
        observed_at=None,
        interval_s=None,
        managed_element=None,
        max_bytes=max_bytes,
        progress=None,
    )
    for frame in frames:
        yield _finish(frame, path, fmt, site=site, producer=producer, sha256=sha256, source_file=None)


def _frames(
    path: Path,
    *,
    problems: Problems,
    default_tz: dt.tzinfo,
    unit_system: str | None,
    observed_at: dt.datetime | None,
    interval_s: float | None,
    managed_element: str | None,
    max_bytes: int,
    progress: Progress | None,
) -> tuple[str, Iterator[pl.DataFrame]]:
    fmt = detect_format(path, max_bytes=max_bytes)
    if fmt in ("ts32435", "ts28532"):
        parser = MeasFileParser(
            path,
            problems=problems,
            default_tz=default_tz,
            unit_system=unit_system,
            max_bytes=max_bytes,
            progress=progress,
        )
        return fmt, parser.batches()
    data = read_all(path, max_bytes=min(max_bytes, MAX_JSON_BYTES), progress=progress)
    docs = load(data, str(path), problems)
    first = docs[0].value
    buffer = ValueBuffer()
    name = managed_element or path.name.split(".")[0]
    if ves.is_ves(first):
        tables = Tables([unit_system or _ves_system(docs)])
        seen = ves.parse_events(docs, tables, problems, buffer)
        if not seen:
            raise InputError("VES file holds no perf3gpp or measurement event", file=str(path))
        fmt = seen.pop() if len(seen) == 1 else "ves"
    elif oai.is_oai(first):
        tables = Tables([unit_system or "oai-o1"])
        when = observed_at or _mtime(path, problems)
        oai.parse_o1(
            docs,
            tables,
            problems,
            buffer,
            observed_at=when.astimezone(dt.UTC),
            interval_s=interval_s or DEFAULT_OAI_INTERVAL_S,
            fallback_name=name,
        )
        fmt = "oai-o1"
    elif srsran.is_srsran(first):
        tables = Tables([unit_system or "srsran"])
        if managed_element is None:
            problems.once("srs-name", f"srsRAN metrics do not name the gNB; using the file name {name!r}")
        srsran.parse_metrics(docs, tables, problems, buffer, managed_element=name, interval_s=interval_s)
        fmt = "srsran"
    else:
        keys = ", ".join(sorted(first)[:8]) if isinstance(first, dict) else type(first).__name__
        raise InputError(
            f"unknown JSON layout (top level: {keys}): not VES, OAI o1 stats or srsRAN metrics", file=str(path)
        )
    frame = tables.materialize(buffer.frame()) if len(buffer) else None
    return fmt, iter([frame] if frame is not None else [])


def _ves_system(docs: list[JsonDoc]) -> str:
    for _line, event in ves.events(docs):
        header = event.get("commonEventHeader") or {}
        if "ericsson" in str(header.get("eventName", "")).lower() and ves.domain_of(event) == "perf3gpp":
            return "ericsson"
        if ves.domain_of(event) == "measurement":
            return "ves-measurement"
    return "3gpp"


def _mtime(path: Path, problems: Problems) -> dt.datetime:
    problems.once("oai-time", "OAI o1 stats carry no timestamp; the period ends at the file's modification time")
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _finish(
    records: pl.DataFrame | None,
    path: Path,
    fmt: str,
    *,
    site: str,
    producer: str,
    sha256: str,
    source_file: str | None,
) -> pl.DataFrame:
    if records is None or records.is_empty():
        return RAN_PM.empty()
    constants = records.with_columns(
        pl.lit(site).alias("site"),
        pl.lit(fmt).alias("source_format"),
        pl.lit(source_file or path.name).alias("source_file"),
        pl.lit(sha256 or None, pl.String).alias("file_sha256"),
        pl.lit(producer).alias("producer"),
    )
    return conform(constants, RAN_PM, origin=str(path))


def _drop_duplicates(records: pl.DataFrame, problems: Problems) -> pl.DataFrame:
    """One value per key: a counter repeated for the same object and period keeps its first occurrence."""
    if records.is_empty():
        return records
    key = list(RAN_PM.key)
    dup = records.select(pl.struct(key).is_duplicated().any()).item()
    if not dup:
        return records
    unique = records.unique(subset=key, keep="first", maintain_order=True)
    problems.add(
        f"{records.height - unique.height} repeated record(s) (same object, counter and period) dropped; "
        "the first occurrence of each was kept"
    )
    return unique

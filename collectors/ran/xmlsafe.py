"""Safe, streaming XML for files that come from network elements and vendor OSSs (untrusted input).

lxml's ``iterparse`` resolved entities by default before lxml 6.1 (CVE-2026-41066), so every option is
spelled out here: no entity resolution, no network, no DTD loading, no huge trees. PM files never need a
DTD (TS 32.435 defines an XML schema), so any ``<!DOCTYPE>`` is refused with a reason that says what it
tried to do (external entity = XXE, nested entities = billion laughs), before a single value is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from collectors.errors import InputError
from collectors.ran.source import DEFAULT_MAX_BYTES, open_payload

#: Options for every PM XML parse. ``remove_blank_text`` drops indentation nodes (less memory, ~10 % faster).
SAFE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "recover": False,
    "remove_blank_text": True,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}


def refuse_dtd(root: Any, origin: str) -> None:
    """Raise if the document declares a DTD; say whether it declares external or nested entities."""
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is None:
        return
    entities = list(dtd.iterentities())
    external = [e for e in entities if e.system_url]
    if external:
        e = external[0]
        raise InputError(
            f"declares an external entity {e.name!r} ({e.system_url}): refused (XXE); PM files never need a DTD",
            file=origin,
            line=1,
        )
    nested = [e for e in entities if e.content and "&" in e.content]
    if nested:
        raise InputError(
            f"declares entities that expand other entities ({nested[0].name!r}…): refused (billion laughs); "
            "PM files never need a DTD",
            file=origin,
            line=1,
        )
    what = f"entities {', '.join(repr(e.name) for e in entities[:3])}" if entities else "a DTD"
    raise InputError(f"declares {what} (<!DOCTYPE>): refused; PM files never need a DTD", file=origin, line=1)


def syntax_error(exc: etree.XMLSyntaxError, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> InputError:
    """A parser error as a user-facing reason; an error on the last line means the file was cut short."""
    line = exc.lineno or None
    message = str(exc.msg or exc)
    if "amplification" in message or "entity reference loop" in message:
        return InputError(f"refused: entity expansion (billion laughs): {message}", file=str(path), line=line)
    if message.startswith("Entity '") and "not defined" in message:
        return InputError(f"uses an entity that is not defined: {message}", file=str(path), line=line)
    if line is not None and line >= _line_count(path, max_bytes):
        return InputError(
            f"file is truncated: the XML ends before the document is complete ({message})", file=str(path), line=line
        )
    return InputError(f"not well-formed XML: {message}", file=str(path), line=line)


def _line_count(path: Path, max_bytes: int) -> int:
    lines = 1
    try:
        with open_payload(path, max_bytes=max_bytes) as stream:
            while block := stream.read(1 << 20):
                lines += block.count(b"\n")
    except InputError:
        return lines
    return lines


def root_tag(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str | None]:
    """``(local name, namespace)`` of the root element, reading no further than its start tag.

    Refuses DTDs here already, so format detection never feeds an entity-laden file onward.
    """
    with open_payload(path, max_bytes=max_bytes) as stream:
        try:
            for _event, element in etree.iterparse(stream, events=("start",), **SAFE_OPTIONS):
                refuse_dtd(element, str(path))
                qname = etree.QName(element)
                return qname.localname, qname.namespace
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, path, max_bytes=max_bytes) from exc
    raise InputError("empty XML document", file=str(path))


def iter_elements(stream: Any, tags: tuple[str, ...], events: tuple[str, ...] = ("end",)) -> Iterator[tuple[str, Any]]:
    """``iterparse`` with the safe options, limited to ``tags`` (``{*}name`` matches any namespace)."""
    yield from etree.iterparse(stream, events=events, tag=tags, **SAFE_OPTIONS)

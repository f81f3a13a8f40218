"""Streaming parser for TS 32.435 ``measCollecFile`` and TS 28.532 ``measDataFile`` PM XML.

Both flavours share the body (``measData/measInfo/measValue``); they differ in the header and in naming
the network element (``managedElement`` vs ``measEntity``). The file is read with ``iterparse`` one
``measInfo`` at a time and every processed element is deleted, so memory stays flat whatever the file
size. Per ``measInfo`` the ``r`` texts and ``p`` positions of all its ``measValue`` elements come out of
two compiled XPath calls (C speed); text-to-number work (trimming, ``NIL`` and blanks, comma-separated
vectors) is done in Polars on a whole batch at once (``values.py``).

What is lenient and what is refused follows the reference (§2.4): vectors, blanks, ``NIL``, sparse
``r``, offsets without a colon and zone-less times are read; a ``measData`` without its network
element, a DTD, or a truncated file are refused as a whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, cast

import polars as pl
from lxml import etree

from collectors.errors import InputError
from collectors.ran import names, times
from collectors.ran.records import Problems, Tables
from collectors.ran.source import DEFAULT_MAX_BYTES, Progress, open_payload
from collectors.ran.values import values_from_text
from collectors.ran.xmlsafe import iter_elements, refuse_dtd, syntax_error

MEASCOLLEC_NS = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"
MEASDATA_NS = "http://www.3gpp.org/ftp/specs/archive/28_series/28.532#measData"
ROOTS = {"measCollecFile": "ts32435", "measDataFile": "ts28532"}

_WATCHED = tuple(f"{{*}}{name}" for name in ("fileHeader", "measData", "managedElement", "measEntity", "measInfo"))
_COUNTER_NAME = re.compile(r"^[A-Za-z_][\w.:\-/#\[\]]*$")
#: Values buffered before a batch is turned into a frame (bounded memory, few large Polars operations).
BATCH_VALUES = 250_000
#: ... or characters of value text: a comma vector is one text but many records (150-sample power vectors).
BATCH_TEXT_CHARS = 2_000_000


@dataclass(frozen=True)
class _Tags:
    """Element names and compiled XPaths for one namespace (files with and without xmlns both occur)."""

    meas_value: str
    meas_type: str
    meas_types: str
    meas_results: str
    gran_period: str
    r: str
    suspect: str
    ps: Any
    texts: Any
    values: Any
    type_ps: Any
    type_names: Any
    all_texts: Any
    all_ps: Any
    with_suspect: Any

    @classmethod
    def for_namespace(cls, ns: str) -> _Tags:
        q = f"{{{ns}}}" if ns else ""
        nsmap = {"m": ns} if ns else None
        prefix = "m:" if ns else ""
        return cls(
            meas_value=q + "measValue",
            meas_type=q + "measType",
            meas_types=q + "measTypes",
            meas_results=q + "measResults",
            gran_period=q + "granPeriod",
            r=q + "r",
            suspect=q + "suspect",
            ps=etree.XPath(f"{prefix}r/@p", namespaces=nsmap, smart_strings=False),
            texts=etree.XPath(f"{prefix}r/text()", namespaces=nsmap, smart_strings=False),
            values=etree.XPath(f"{prefix}measValue", namespaces=nsmap),
            type_ps=etree.XPath(f"{prefix}measType/@p", namespaces=nsmap, smart_strings=False),
            type_names=etree.XPath(f"{prefix}measType/text()", namespaces=nsmap, smart_strings=False),
            all_texts=etree.XPath(f"{prefix}measValue/{prefix}r/text()", namespaces=nsmap, smart_strings=False),
            all_ps=etree.XPath(f"{prefix}measValue/{prefix}r/@p", namespaces=nsmap, smart_strings=False),
            with_suspect=etree.XPath(f"{prefix}measValue[{prefix}suspect]", namespaces=nsmap),
        )


class MeasFileParser:
    """Reads one 32.435 / 28.532 file into batches of records (see :meth:`batches`)."""

    def __init__(
        self,
        path: Path,
        *,
        problems: Problems,
        default_tz: dt.tzinfo = dt.UTC,
        unit_system: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: Progress | None = None,
        batch_values: int = BATCH_VALUES,
    ) -> None:
        self.path = path
        self.problems = problems
        self.default_tz = default_tz
        self.unit_system = unit_system
        self.max_bytes = max_bytes
        self.progress = progress
        self.batch_values = batch_values
        self.vendor: str | None = None
        self.sender: str | None = None
        self.tables = Tables([unit_system or "3gpp"])
        self._tags: dict[str, _Tags] = {}
        self._me: tuple[str, str] | None = None  # (name, local DN) of the current measData
        self._periods: dict[tuple[str, str], int | None] = {}
        self._measinfos = 0
        self._counter_cache: dict[str, int | None] = {}
        self._reset_buffers()

    # -- public -----------------------------------------------------------------------------------------

    def batches(self) -> Iterator[pl.DataFrame]:
        """Record frames (record columns, canonical units), one per ~``batch_values`` values."""
        origin = str(self.path)
        with open_payload(self.path, max_bytes=self.max_bytes, progress=self.progress) as stream:
            first = True
            try:
                for _event, element in iter_elements(stream, _WATCHED):
                    if first:
                        refuse_dtd(element, origin)
                        first = False
                    self._dispatch(element)
                    if len(self._texts) >= self.batch_values or self._text_chars >= BATCH_TEXT_CHARS:
                        yield self._flush()
            except etree.XMLSyntaxError as exc:
                raise syntax_error(exc, self.path, max_bytes=self.max_bytes) from exc
        if self._texts:
            yield self._flush()
        if not self._measinfos:
            self.problems.add("the file holds no measInfo: it carries no counters")

    # -- elements -----------------------------------------------------------------------------------------

    def _dispatch(self, element: Any) -> None:
        tag: str = element.tag
        local = tag.rsplit("}", 1)[-1]
        if local == "measInfo":
            self._measinfo(element)
            _forget(element)
        elif local in ("managedElement", "measEntity"):
            self._managed_element(element)
        elif local == "measData":
            parent = element.getparent()
            if parent is not None and parent.tag.rsplit("}", 1)[-1] in ("fileHeader", "fileFooter"):
                return  # 28.532 header/footer timestamps, not a body block
            self._me = None
            _forget(element)
        elif local == "fileHeader":
            self._header(element)

    def _header(self, header: Any) -> None:
        self.vendor = header.get("vendorName")
        for child in header:
            if child.tag.rsplit("}", 1)[-1] == "fileSender":
                self.sender = child.get("localDn") or child.get("senderName")
        if self.unit_system is None and self.vendor and "ericsson" in self.vendor.lower():
            self.tables = Tables(["ericsson"])

    def _managed_element(self, element: Any) -> None:
        local_dn = (element.get("localDn") or "").strip()
        if not local_dn:
            fallback = (element.get("userLabel") or self.sender or "").strip()
            if not fallback:
                raise InputError(
                    "managedElement has no localDn and the file names no sender: cannot tell which network "
                    "element the counters belong to",
                    file=str(self.path),
                    line=element.sourceline,
                )
            self.problems.add(
                f"managedElement has no localDn; using {fallback!r}", line=element.sourceline, field="localDn"
            )
            local_dn = fallback
        self._me = (names.managed_element_name(local_dn), local_dn)

    def _measinfo(self, mi: Any) -> None:
        if self._me is None:
            parent = mi.getparent()
            raise InputError(
                "measData has no managedElement (required by TS 32.435): cannot tell which network element "
                "its counters belong to",
                file=str(self.path),
                line=parent.sourceline if parent is not None else mi.sourceline,
                field="managedElement",
            )
        self._measinfos += 1
        tags = self._tags_for(mi.tag)
        period = self._period(mi.find(tags.gran_period), mi.sourceline)
        values = tags.values(mi)
        if period is None or not values:
            return
        by_p: dict[str, int | None] = {}
        listed: list[int | None] | None = None
        type_ps: list[str] = tags.type_ps(mi)
        if type_ps:
            type_names: list[str] = tags.type_names(mi)
            if len(type_names) != len(type_ps):  # an empty <measType/>: pair them one by one
                type_names = [(t.text or "") for t in mi.iterchildren(tags.meas_type)]
            line = mi.sourceline
            by_p = {p: self._counter(n, line) for p, n in zip(type_ps, type_names, strict=False)}
        else:
            lists = mi.findall(tags.meas_types)
            if lists:
                listed = [self._counter(n, lists[0].sourceline) for t in lists for n in (t.text or "").split()]
        me_name, me_dn = self._me
        if by_p and self._r_fast(mi, tags, values, by_p, period, me_name, me_dn):
            return
        for mv in values:
            ldn = (mv.get("measObjLdn") or "").strip() or me_dn
            obj = self.tables.obj(me_name, ldn)
            suspect = False
            last = mv[-1] if len(mv) else None
            if last is not None and last.tag == tags.suspect:
                suspect = (last.text or "").strip().lower() in ("true", "1")
            results = mv.find(tags.meas_results) if listed is not None or not by_p else None
            if results is not None:
                self._list_values(results, listed, period, obj, suspect)
            else:
                self._r_values(mv, tags, by_p, period, obj, suspect)

    def _r_fast(
        self,
        mi: Any,
        tags: _Tags,
        values: list[Any],
        by_p: dict[str, int | None],
        period: int,
        me_name: str,
        me_dn: str,
    ) -> bool:
        """All ``r`` of a regular measInfo with two XPath calls; False (nothing buffered) if it is irregular.

        Regular: every measValue has its ``measObjLdn``, every ``r`` a text and a known ``p``, and its
        children are ``r`` elements plus at most one trailing ``suspect``. Anything else (empty ``r``,
        vendor extension elements, unknown ``p``) takes the element-by-element path, which reports it.
        """
        texts: list[str] = tags.all_texts(mi)
        ps: list[str] = tags.all_ps(mi)
        if len(texts) != len(ps):
            return False
        found = list(map(by_p.get, ps))
        if None in found:
            return False
        counters = cast(list[int], found)
        ldns = [mv.get("measObjLdn") for mv in values]
        if None in ldns:
            return False
        counts = [len(mv) for mv in values]
        suspects = [False] * len(values)
        if sum(counts) != len(ps):  # children besides r: a suspect flag (or something irregular)
            position = {id(mv): i for i, mv in enumerate(values)}
            for mv in tags.with_suspect(mi):
                i = position[id(mv)]
                counts[i] -= 1
                suspects[i] = (mv.findtext(tags.suspect) or "").strip().lower() in ("true", "1")
            if sum(counts) != len(ps):
                return False
        obj = self.tables.obj
        self._seg_period.extend(repeat(period, len(values)))
        self._seg_object.extend(obj(me_name, cast(str, ldn).strip() or me_dn) for ldn in ldns)
        self._seg_suspect.extend(suspects)
        self._seg_line.extend(mv.sourceline for mv in values)
        self._seg_count.extend(counts)
        self._counter_ids.extend(counters)
        self._texts.extend(texts)
        self._text_chars += sum(map(len, texts))
        return True

    def _r_values(
        self, mv: Any, tags: _Tags, by_p: dict[str, int | None], period: int, obj: int, suspect: bool
    ) -> None:
        ps: list[str] = tags.ps(mv)
        texts: list[str] = tags.texts(mv)
        if len(ps) != len(texts):  # an empty <r/> has no text node: pair them one by one
            ps, texts = [], []
            for r in mv.iterchildren(tags.r):
                ps.append(r.get("p") or "")
                texts.append(r.text or "")
        counters = list(map(by_p.get, ps))
        if None in counters:
            keep = [i for i, c in enumerate(counters) if c is not None]
            for i, c in enumerate(counters):
                if c is None and ps[i] not in by_p:
                    self.problems.add(
                        f"r p={ps[i]!r} has no measType in its measInfo; value skipped", line=mv.sourceline, field="p"
                    )
            counters = [counters[i] for i in keep]
            texts = [texts[i] for i in keep]
        self._append(period, obj, suspect, mv.sourceline, counters, texts)

    def _list_values(self, results: Any, listed: list[int | None] | None, period: int, obj: int, suspect: bool) -> None:
        tokens = (results.text or "").split()
        if listed is None:
            self.problems.add("measResults without measTypes; values skipped", line=results.sourceline)
            return
        if len(tokens) != len(listed):
            self.problems.add(
                f"{len(tokens)} results for {len(listed)} measTypes; the row cannot be aligned and is skipped",
                line=results.sourceline,
                field="measResults",
            )
            return
        counters = listed
        if None in counters:
            pairs = [(c, t) for c, t in zip(counters, tokens, strict=True) if c is not None]
            counters, tokens = [c for c, _ in pairs], [t for _, t in pairs]
        self._append(period, obj, suspect, results.sourceline, counters, tokens)

    def _append(self, period: int, obj: int, suspect: bool, line: int, counters: list[Any], texts: list[str]) -> None:
        self._seg_period.append(period)
        self._seg_object.append(obj)
        self._seg_suspect.append(suspect)
        self._seg_line.append(line)
        self._seg_count.append(len(texts))
        self._counter_ids.extend(counters)
        self._texts.extend(texts)
        self._text_chars += sum(map(len, texts))

    # -- helpers ------------------------------------------------------------------------------------------

    def _counter(self, text: str | None, line: int) -> int | None:
        raw = text or ""
        if raw in self._counter_cache:
            return self._counter_cache[raw]
        name = raw.strip()
        found: int | None = None
        if _COUNTER_NAME.match(name):
            found = self.tables.counter(name)
        else:
            self.problems.add(f"measType {name!r} is not a counter name; its values are skipped", line=line)
        self._counter_cache[raw] = found
        return found

    def _period(self, gran: Any, line: int) -> int | None:
        if gran is None:
            self.problems.add("measInfo has no granPeriod; its values are skipped", line=line, field="granPeriod")
            return None
        key = (gran.get("endTime") or "", gran.get("duration") or "")
        if key in self._periods:
            return self._periods[key]
        period: int | None = None
        try:
            end, zoned = times.parse_datetime(key[0], self.default_tz)
            seconds = times.parse_duration_s(key[1])
        except ValueError as exc:
            self.problems.add(f"granPeriod: {exc}; the measInfo's values are skipped", line=gran.sourceline)
        else:
            if not zoned:
                self.problems.once(
                    "zoneless",
                    f"times without a UTC offset (e.g. {key[0]!r}) were read in {self.default_tz}",
                    line=gran.sourceline,
                    field="endTime",
                )
            period = self.tables.period(end - dt.timedelta(seconds=seconds), end)
        self._periods[key] = period
        return period

    def _tags_for(self, tag: str) -> _Tags:
        ns = tag[1 : tag.index("}")] if tag.startswith("{") else ""
        found = self._tags.get(ns)
        if found is None:
            found = self._tags[ns] = _Tags.for_namespace(ns)
        return found

    def _reset_buffers(self) -> None:
        # One segment per measValue (its period, object, suspect flag, line and number of values) and one
        # entry per value (counter, text): per-value Python work stays at two list extends.
        self._seg_period: list[int] = []
        self._seg_object: list[int] = []
        self._seg_suspect: list[bool] = []
        self._seg_line: list[int] = []
        self._seg_count: list[int] = []
        self._counter_ids: list[int] = []
        self._texts: list[str] = []
        self._text_chars = 0

    def _flush(self) -> pl.DataFrame:
        segments = pl.DataFrame(
            {
                "period_id": self._seg_period,
                "object_id": self._seg_object,
                "suspect": self._seg_suspect,
                "line": self._seg_line,
            },
            schema={"period_id": pl.UInt32, "object_id": pl.UInt32, "suspect": pl.Boolean, "line": pl.Int64},
        )
        # One row per value: segment i repeated count[i] times, in order (a measValue without values
        # repeats zero times; drop_nulls guards against an empty list exploding to a null).
        index = pl.Series(self._seg_count, dtype=pl.UInt32)
        per_value = pl.int_range(0, len(index), dtype=pl.UInt32, eager=True).repeat_by(index).explode().drop_nulls()
        raw = segments.select(pl.all().gather(per_value)).with_columns(
            pl.Series("counter_id", self._counter_ids, dtype=pl.UInt32),
            pl.Series("text", self._texts, dtype=pl.String),
        )
        self._reset_buffers()
        frame = self.tables.materialize(values_from_text(raw, self.problems, self.tables))
        self.tables.reset_objects()
        return frame


def _forget(element: Any) -> None:
    """Free a processed element and the siblings before it (iterparse keeps the tree otherwise)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]

"""A fast Prometheus text-exposition parser with a series-key cache, for repeated scrapes of one target.

Why hand-written: ``prometheus_client.parser`` costs ~8 ms per 8-GPU dcgm-exporter scrape (pure Python,
labels re-parsed on every line), which at 10,000 GPUs is a whole core (shared/reference/performance.md §6).
A target's series are the same from one scrape to the next; only the values change. Two caches exploit it:

- the **series-key cache**: the part of a line before its value (``name{labels}``) is a dictionary key; the
  first time a key is seen the labels are parsed properly, later it costs one ``rpartition``, one lookup and
  one ``float()``;
- the **template** of the previous scrape: when a scrape has exactly the previous scrape's lines except for
  the values (the steady state of an exporter), each line is checked with ``startswith`` against the
  previous line's key (a memory compare, no hashing, no allocation) and only the value is sliced off and
  converted. Any difference sends the scrape through the general path, which rebuilds the template.

The test suite proves the samples are exactly those of ``prometheus_client``'s parser on every real sample
file and on generated scrapes. Where the two differ is on bad input: ``prometheus_client`` raises on the
first malformed line and loses the scrape; this parser reports the line number and keeps every other line.

Defined outcomes for bad input (each shown by a test):

- malformed line (bad name, label set, value or timestamp): skipped, reported with its line number;
- the same series twice in one scrape: the first is kept (as Prometheus does), the repeat is reported;
- a body that is an HTML page: :class:`InputError` for the whole body;
- with ``require_final_newline`` (HTTP scrapes): a last line without its line feed may have been cut in the
  middle of its value (``12`` for ``1234``), so it is dropped and reported.

NaN, ±Inf and DCGM blank sentinels parse as the numbers they are; what they mean is the normaliser's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from collectors.errors import InputError

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*(,?)[ \t]*')
_ESCAPES = re.compile(r"\\[\\n\"]")
_HELP_ESCAPES = re.compile(r"\\[\\n]")
_UNESCAPE = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}

#: Problems kept per scrape; a garbage body (a binary, a wrong endpoint) would otherwise keep one per line.
MAX_PROBLEMS = 100
#: Distinct series a parser remembers before starting afresh (pod-label churn must not grow it forever).
MAX_CACHED_SERIES = 200_000


class Series:
    """One time series: metric name and labels. Interned per parser, so identity means equality."""

    __slots__ = ("_labels_dict", "labels", "name")

    def __init__(self, name: str, labels: tuple[tuple[str, str], ...]) -> None:
        self.name = name
        self.labels = labels
        self._labels_dict: dict[str, str] | None = None

    @property
    def label_map(self) -> dict[str, str]:
        if self._labels_dict is None:
            self._labels_dict = dict(self.labels)
        return self._labels_dict

    def __repr__(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.name}{{{inner}}}"


class Sample(NamedTuple):
    series: Series
    value: float
    timestamp_ms: int | None
    line: int


@dataclass
class ExpositionResult:
    """What one exposition body held: parallel lists of series, values and source line numbers."""

    series: list[Series]
    values: list[float]
    line_numbers: list[int]
    timestamps_ms: list[int | None] | None = None
    problems: list[InputError] = field(default_factory=list)
    problem_count: int = 0
    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def samples(self) -> list[Sample]:
        ts = self.timestamps_ms or [None] * len(self.values)
        return [Sample(*t) for t in zip(self.series, self.values, ts, self.line_numbers, strict=True)]


class _LineError(ValueError):
    pass


class _Template:
    """The previous scrape as constant text between values: ``body = seg[0] v[0] seg[1] v[1] … seg[n]``.

    Every segment but the first starts with the line feed that ends the previous value's line and runs to
    the space before the next value, taking whole comment lines with it. A new body matches when each
    segment is found where expected; each value then runs to the next line feed.
    """

    __slots__ = ("helps", "line_numbers", "segments", "series", "types")

    def __init__(self, segments: list[tuple[str, int]], out: ExpositionResult) -> None:
        self.segments = segments
        self.series = out.series
        self.line_numbers = out.line_numbers
        self.helps = out.helps
        self.types = out.types

    @classmethod
    def build(cls, lines: list[str], out: ExpositionResult, by_head: dict[str, Series]) -> _Template | None:
        """A template from a clean scrape (no problems, no timestamps), else None."""
        if out.problem_count or out.timestamps_ms is not None:
            return None
        segments: list[tuple[str, int]] = []
        pending: list[str] = []
        for i, line in enumerate(lines):
            if i:
                pending.append("\n")
            if not line or line[0] == "#":
                pending.append(line)
                continue
            head = line.rpartition(" ")[0]
            if head not in by_head:
                return None
            pending.append(head + " ")
            segment = "".join(pending)
            segments.append((segment, len(segment)))
            pending = []
        final = "".join(pending)
        segments.append((final, len(final)))
        return cls(segments, out)

    def values_of(self, text: str) -> list[float] | None:
        """The values of ``text`` if it is the template with other values, else None."""
        values: list[float] = []
        add = values.append
        memo = _FLOATS
        remembered = memo.get
        find = text.find
        starts = text.startswith
        pos = 0
        *segments, (final, _) = self.segments
        for segment, size in segments:
            if not starts(segment, pos):
                return None
            pos += size
            end = find("\n", pos)
            if end < 0:
                return None
            tail = text[pos:end]
            value = remembered(tail)
            if value is None:
                if "_" in tail:
                    return None
                try:
                    value = float(tail)
                except ValueError:
                    return None
                if len(memo) >= _MAX_FLOATS:
                    memo.clear()
                memo[tail] = value
            add(value)
            pos = end
        if len(text) - pos != len(final) or not starts(final, pos):
            return None
        return values


#: Value text → float, shared by all parsers: most values repeat from one scrape to the next (clocks,
#: temperatures, zeros), and a lookup is cheaper than ``float()``. Bounded; cleared when full.
_FLOATS: dict[str, float] = {}
_MAX_FLOATS = 1 << 16


class ExpositionParser:
    """Parses successive scrapes of one target, remembering each series key it has seen.

    ``origin`` names the target or file in problems. ``generation`` changes whenever the cache is reset, so
    that anything keyed on this parser's :class:`Series` objects knows to forget them too.
    """

    def __init__(self, origin: str | None = None, *, max_series: int = MAX_CACHED_SERIES) -> None:
        self.origin = origin
        self.max_series = max_series
        self.generation = 0
        self._by_head: dict[str, Series] = {}
        self._interned: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
        self._comments: dict[str, tuple[str, str, str] | None] = {}
        self._label_sets: dict[str, tuple[tuple[str, str], ...]] = {}
        self._template: _Template | None = None

    def parse(self, text: str, *, require_final_newline: bool = False) -> ExpositionResult:
        reject_non_exposition(text, self.origin)
        if len(self._interned) > self.max_series:
            self._by_head.clear()
            self._interned.clear()
            self._comments.clear()
            self._label_sets.clear()
            self._template = None
            self.generation += 1
        template = self._template
        if template is not None and (not require_final_newline or text.endswith("\n")):
            values = template.values_of(text)
            if values is not None:
                return ExpositionResult(
                    template.series, values, template.line_numbers, types=template.types, helps=template.helps
                )
        out = ExpositionResult([], [], [])
        lines = text.split("\n")
        if require_final_newline and lines[-1]:
            if lines[-1].strip():
                self._problem(out, len(lines), "no line feed at the end of the body: last line dropped as cut off")
            lines[-1] = ""
        self._parse_lines(lines, out)
        self._template = _Template.build(lines, out, self._by_head)
        return out

    def _parse_lines(self, lines: list[str], out: ExpositionResult) -> None:
        """The general path: every line through the series-key cache, or parsed in full."""
        cache_get = self._by_head.get
        add_series = out.series.append
        add_value = out.values.append
        add_line = out.line_numbers.append
        n = 0
        for line in lines:
            n += 1
            if not line:
                continue
            if line[0] == "#":
                self._comment(line, n, out)
                continue
            head, _, tail = line.rpartition(" ")
            series = cache_get(head)
            if series is not None and "_" not in tail:
                try:
                    value = float(tail)
                except ValueError:
                    pass
                else:
                    add_series(series)
                    add_value(value)
                    add_line(n)
                    continue
            self._slow_line(line, n, out)
        if len(set(out.series)) != len(out.series):
            self._drop_duplicates(out)

    def _slow_line(self, line: str, n: int, out: ExpositionResult) -> None:
        """A line whose key is not cached (first sight, a timestamp, odd spacing) or whose value is bad."""
        stripped = line.strip()
        if not stripped:
            return
        if stripped[0] == "#":
            self._comment(stripped, n, out)
            return
        try:
            series, value, ts = self._parse_line(stripped)
        except _LineError as exc:
            self._problem(out, n, str(exc))
            return
        head, sep, tail = line.rpartition(" ")
        if ts is None and sep and tail.strip() == tail and head.rstrip() and tail == stripped.rsplit(None, 1)[-1]:
            self._by_head[head] = series
        if ts is not None and out.timestamps_ms is None:
            out.timestamps_ms = [None] * len(out.values)
        out.series.append(series)
        out.values.append(value)
        out.line_numbers.append(n)
        if out.timestamps_ms is not None:
            out.timestamps_ms.append(ts)

    def _parse_line(self, s: str) -> tuple[Series, float, int | None]:
        m = _NAME.match(s)
        if m is None:
            raise _LineError(f"not a metric name at the start of the line: {s[:60]!r}")
        name = m.group()
        pos = m.end()
        size = len(s)
        while pos < size and s[pos] in " \t":
            pos += 1
        labels: tuple[tuple[str, str], ...] = ()
        if pos < size and s[pos] == "{":
            # dcgm-exporter prints each GPU's label set once per family: parse each distinct set once. The
            # last "}" closes the set (a value or timestamp cannot contain one); label text may contain "}",
            # so a set that does not parse to exactly there is parsed in full below.
            close = s.rfind("}")
            text = s[pos + 1 : close]
            cached = self._label_sets.get(text)
            if cached is not None:
                labels, pos = cached, close + 1
            else:
                items: list[tuple[str, str]] = []
                pos = self._parse_labels(s, pos + 1, items)
                labels = tuple(items)
                if pos == close + 1 and len(self._label_sets) < self.max_series:
                    self._label_sets[text] = labels
            if pos < size and s[pos] not in " \t":
                raise _LineError(f"no space between the labels and the value of {name!r}")
        elif pos == m.end() and pos < size:
            raise _LineError(f"unexpected character {s[pos : pos + 1]!r} after metric name {name!r}")
        tokens = s[pos:].split()
        if not tokens:
            raise _LineError(f"no value for {name!r}")
        if len(tokens) > 2:
            raise _LineError(f"unexpected text after the value of {name!r}: {' '.join(tokens[2:])[:40]!r}")
        value = _number(tokens[0], name)
        ts: int | None = None
        if len(tokens) == 2:
            if "_" in tokens[1]:
                raise _LineError(f"timestamp {tokens[1]!r} of {name!r} is not an integer")
            try:
                ts = int(tokens[1])
            except ValueError:
                raise _LineError(f"timestamp {tokens[1]!r} of {name!r} is not an integer") from None
        key = (name, tuple(sorted(labels)))
        series = self._interned.get(key)
        if series is None:
            series = Series(name, labels)
            self._interned[key] = series
        return series, value, ts

    @staticmethod
    def _parse_labels(s: str, pos: int, items: list[tuple[str, str]]) -> int:
        seen: set[str] = set()
        while True:
            while pos < len(s) and s[pos] in " \t":
                pos += 1
            if pos < len(s) and s[pos] == "}":
                return pos + 1
            m = _LABEL.match(s, pos)
            if m is None:
                raise _LineError(f"malformed label set near {s[pos : pos + 40]!r}")
            label, raw, comma = m.group(1), m.group(2), m.group(3)
            if label in seen:
                raise _LineError(f"label {label!r} appears twice")
            seen.add(label)
            items.append((label, _ESCAPES.sub(_unescape, raw) if "\\" in raw else raw))
            pos = m.end()
            if not comma and (pos >= len(s) or s[pos] != "}"):
                raise _LineError(f"expected ',' or '}}' near {s[pos : pos + 40]!r}")

    def _comment(self, line: str, n: int, out: ExpositionResult) -> None:
        """HELP and TYPE lines (cached like series: they repeat verbatim every scrape)."""
        try:
            parsed = self._comments[line]
        except KeyError:
            try:
                parsed = _parse_comment(line)
            except _LineError as exc:
                self._problem(out, n, str(exc))
                return
            if len(self._comments) < self.max_series:
                self._comments[line] = parsed
        if parsed is None:
            return
        kind, name, text = parsed
        if kind == "HELP":
            out.helps[name] = text
        else:
            out.types[name] = text

    def _drop_duplicates(self, out: ExpositionResult) -> None:
        first: dict[Series, int] = {}
        keep: list[int] = []
        for i, (series, line) in enumerate(zip(out.series, out.line_numbers, strict=True)):
            earlier = first.get(series)
            if earlier is None:
                first[series] = line
                keep.append(i)
            else:
                self._problem(out, line, f"duplicate series {series!r} (first on line {earlier}); repeat ignored")
        out.series = [out.series[i] for i in keep]
        out.values = [out.values[i] for i in keep]
        out.line_numbers = [out.line_numbers[i] for i in keep]
        if out.timestamps_ms is not None:
            ts = out.timestamps_ms
            out.timestamps_ms = [ts[i] for i in keep]

    def _problem(self, out: ExpositionResult, line: int, reason: str) -> None:
        out.problem_count += 1
        if len(out.problems) < MAX_PROBLEMS:
            out.problems.append(InputError(reason, file=self.origin, line=line))


def parse_exposition(text: str, *, origin: str | None = None, require_final_newline: bool = False) -> ExpositionResult:
    """Parse one exposition body (a scrape or a saved ``/metrics`` file); see :class:`ExpositionParser`."""
    return ExpositionParser(origin).parse(text, require_final_newline=require_final_newline)


def reject_non_exposition(text: str, origin: str | None) -> None:
    """Refuse bodies that are plainly not an exposition (an HTML error page from a proxy or ingress)."""
    start = text[:512].lstrip().lower()
    if start.startswith(("<!doctype", "<html", "<?xml", "<head", "<body", "<")):
        raise InputError("body is an HTML/XML page, not a Prometheus text exposition", file=origin, line=1)


def _parse_comment(line: str) -> tuple[str, str, str] | None:
    parts = line.split(None, 3)
    if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE"):
        return None  # free-form comment (or OpenMetrics "# EOF")
    name = parts[2]
    if _NAME.fullmatch(name) is None:
        raise _LineError(f"# {parts[1]} for an invalid metric name {name!r}")
    if parts[1] == "HELP":
        text = parts[3] if len(parts) > 3 else ""
        return "HELP", name, _HELP_ESCAPES.sub(_unescape, text) if "\\" in text else text
    if len(parts) < 4:
        raise _LineError(f"# TYPE line for {name!r} names no type")
    return "TYPE", name, parts[3].strip()


def _number(token: str, name: str) -> float:
    if "_" in token:
        raise _LineError(f"value {token!r} of {name!r} is not a number")
    try:
        return float(token)
    except ValueError:
        raise _LineError(f"value {token!r} of {name!r} is not a number") from None


def _unescape(m: re.Match[str]) -> str:
    return _UNESCAPE[m.group(0)]

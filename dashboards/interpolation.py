"""The SQL that DuckDB really runs for a panel: Grafana's variable interpolation, then the plugin's macros.

A panel query goes through two rewrites before it reaches DuckDB, and the dashboards are only proven to
work if the tests rewrite them the same way:

1. **In the browser** (``templateSrv.replace``): template variables and built-ins (``$__interval``,
   ``$__from``…) are replaced. Panel queries of the DuckDB plugin use the ``sqlstring`` format by default
   (quote every value, double ``'``, escape ``"`` as ``\\"``, join with commas); variable queries use
   ``SqlDatasource.interpolateVariable`` instead (a lone single value unquoted). An explicit
   ``${var:sqlstring}`` makes both paths equal, so the catalogue always writes it. The "All" option with a
   custom ``allValue`` is inserted **raw**, not formatted (Grafana: "skip formatting of custom all values"),
   so the ``allValue`` must itself be an SQL literal such as ``'__all'``.
2. **In the plugin backend** (``sqlutil.Interpolate``, grafana-plugin-sdk-go v0.274.0, plugin ≥ 0.4.1):
   ``$__timeFilter(col)`` → ``col >= 'FROM' AND col <= 'TO'`` and ``$__timeFrom()``/``$__timeTo()`` →
   ``'…'``, times in RFC 3339 UTC with second precision. ``$__timeGroup`` expands to SQL-Server syntax
   that DuckDB rejects, and nothing else is implemented, so any other ``$__`` macro is refused here.

Only the standard library is imported: the DuckDB 1.5.4 compatibility check runs this module in a separate
virtual environment that has nothing but ``duckdb``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

#: Grafana's stored value for the "All" option.
ALL = "$__all"

Mode = Literal["panel", "variable"]

# Grafana's variable regex (public/app/features/variables/utils.ts): $name, [[name:fmt]], ${name.path:fmt}.
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
_MACRO_START = re.compile(r"\$__(\w+)")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|M|y)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


class InterpolationError(ValueError):
    """A query uses a variable format or macro that Grafana or the DuckDB plugin would not expand."""


@dataclass(frozen=True)
class TimeRange:
    """The dashboard's (or a panel's overridden) time range; both ends are converted to aware UTC."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise InterpolationError(f"time range {name} must be timezone-aware, got {value!r}")
            object.__setattr__(self, name, value.astimezone(dt.UTC))
        if self.start > self.end:
            raise InterpolationError(f"time range starts after it ends: {self.start} > {self.end}")

    @property
    def span(self) -> dt.timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class VariableState:
    """One dashboard variable as Grafana holds it while a dashboard is open.

    ``value`` is a string, a tuple of strings (multi-value) or :data:`ALL`; ``options`` are the values the
    variable offers (what "All" means when no ``all_value`` is set).
    """

    name: str
    value: str | tuple[str, ...]
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    options: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_all(self) -> bool:
        return self.value == ALL or (isinstance(self.value, tuple) and self.value[:1] == (ALL,))


@dataclass(frozen=True)
class QueryContext:
    """Everything the two rewrites depend on."""

    time_range: TimeRange
    interval: str = "1m"
    variables: Mapping[str, VariableState] = field(default_factory=dict)


def parse_duration_ms(text: str) -> int:
    """Milliseconds of a Grafana interval string (``30s``, ``1h``, ``7d``); months and years approximate."""
    match = _DURATION.match(text.strip())
    if not match:
        raise InterpolationError(f"not a Grafana interval: {text!r}")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "M":
        return count * 30 * _UNIT_MS["d"]
    if unit == "y":
        return count * 365 * _UNIT_MS["d"]
    return count * _UNIT_MS[unit]


def effective_interval(computed: str, panel_min: str | None) -> str:
    """``$__interval`` after the panel's "min interval" (Grafana never goes below it)."""
    if panel_min and parse_duration_ms(panel_min) > parse_duration_ms(computed):
        return panel_min
    return computed


def rfc3339(moment: dt.datetime) -> str:
    """Go's ``time.RFC3339`` of a UTC time: second precision, ``Z`` suffix."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sqlstring(value: str | Sequence[str]) -> str:
    """Grafana's ``sqlstring`` format: each value single-quoted, ``'`` doubled, ``"`` → ``\\"``, comma-joined."""
    values = [value] if isinstance(value, str) else list(value)
    return ",".join("'" + v.replace("'", "''").replace('"', '\\"') + "'" for v in values)


def _interpolate_variable(value: str | Sequence[str], state: VariableState | None) -> str:
    """``SqlDatasource.interpolateVariable``: the default formatter of variable queries."""
    if isinstance(value, str):
        if state is not None and (state.multi or state.include_all):
            return "'" + value.replace("'", "''") + "'"
        return value.replace("'", "''")
    return ",".join("'" + v.replace("'", "''") + "'" for v in value)


def _format(value: str | Sequence[str], fmt: str | None, mode: Mode, state: VariableState | None) -> str:
    if fmt is None:
        return sqlstring(value) if mode == "panel" else _interpolate_variable(value, state)
    if fmt == "sqlstring":
        return sqlstring(value)
    if fmt in ("raw", "csv"):
        return value if isinstance(value, str) else ",".join(value)
    raise InterpolationError(f"variable format {fmt!r} is not used by aigrid dashboards (use sqlstring or raw)")


def _builtin(name: str, fmt: str | None, ctx: QueryContext, mode: Mode) -> str | None:
    """Grafana's global variables that aigrid queries may use; ``None`` for names that are not built-ins."""
    if name == "__interval":
        return _format(ctx.interval, fmt, mode, None)
    if name == "__interval_ms":
        return _format(str(parse_duration_ms(ctx.interval)), fmt, mode, None)
    if name in ("__from", "__to"):
        moment = ctx.time_range.start if name == "__from" else ctx.time_range.end
        epoch_ms = int(moment.timestamp() * 1000)
        if fmt is None or fmt in ("raw", "sqlstring"):
            return _format(str(epoch_ms), fmt, mode, None)
        if fmt in ("date", "date:iso"):
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        if fmt == "date:seconds":
            return str(epoch_ms // 1000)
        raise InterpolationError(f"format {fmt!r} of ${name} is not supported here")
    return None


def interpolate_variables(sql: str, ctx: QueryContext, mode: Mode = "panel") -> str:
    """Step 1, the browser: replace template variables and built-ins; unknown names are left as they are."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if match.group(5):
            raise InterpolationError(f"field paths (${{{name}.{match.group(5)}}}) are not used in SQL")
        builtin = _builtin(name, fmt, ctx, mode)
        if builtin is not None:
            return builtin
        state = ctx.variables.get(name)
        if state is None:
            return match.group(0)
        if state.is_all:
            if state.all_value is not None and fmt not in ("text", "percentencode"):
                return interpolate_variables(state.all_value, ctx, mode)
            return _format(state.options, fmt, mode, state)
        return _format(state.value, fmt, mode, state)

    return _VARIABLE.sub(replace, sql)


def _macro_calls(sql: str) -> list[tuple[int, int, str, str | None]]:
    """``(start, end, name, args)`` of every ``$__name`` / ``$__name(args)``, parentheses balanced.

    Mirrors ``sqlutil.getMacroMatches``: arguments run to the parenthesis that closes the first one.
    """
    calls: list[tuple[int, int, str, str | None]] = []
    for match in _MACRO_START.finditer(sql):
        start, name, pos = match.start(), match.group(1), match.end()
        if pos < len(sql) and sql[pos] == "(":
            depth = 0
            for idx in range(pos, len(sql)):
                if sql[idx] == "(":
                    depth += 1
                elif sql[idx] == ")":
                    depth -= 1
                    if depth == 0:
                        calls.append((start, idx + 1, name, sql[pos + 1 : idx]))
                        break
            else:
                raise InterpolationError(f"unbalanced parentheses after $__{name}")
        else:
            calls.append((start, pos, name, None))
    return calls


def expand_macros(sql: str, time_range: TimeRange) -> str:
    """Step 2, the plugin backend: expand ``$__timeFilter``, ``$__timeFrom()`` and ``$__timeTo()``."""
    start, end = rfc3339(time_range.start), rfc3339(time_range.end)
    out: list[str] = []
    last = 0
    for begin, finish, name, args in _macro_calls(sql):
        out.append(sql[last:begin])
        last = finish
        if name == "timeFilter":
            parts = [] if args is None else args.split(",")
            if len(parts) != 1 or not parts[0].strip():
                raise InterpolationError(f"$__timeFilter takes exactly one column, got {args!r}")
            column = parts[0]
            out.append(f"{column} >= '{start}' AND {column} <= '{end}'")
        elif name in ("timeFrom", "timeTo"):
            if args is None or args.strip():
                raise InterpolationError(f"$__{name}() takes no argument in plugin ≥ 0.4.1; write $__{name}()")
            out.append(f"'{start}'" if name == "timeFrom" else f"'{end}'")
        elif name == "timeGroup":
            raise InterpolationError("$__timeGroup expands to SQL-Server syntax that DuckDB rejects; use time_bucket")
        else:
            raise InterpolationError(f"$__{name} is not expanded by the DuckDB plugin")
    out.append(sql[last:])
    return "".join(out)


def render_sql(sql: str, ctx: QueryContext, mode: Mode = "panel") -> str:
    """The SQL DuckDB receives: variables, then macros; anything left unexpanded is an error."""
    expanded = expand_macros(interpolate_variables(sql, ctx, mode), ctx.time_range)
    leftover = re.search(r"\$\{[^}]*\}|\[\[\w+(?::\w+)?\]\]|\$[A-Za-z_]\w*", expanded)
    if leftover:
        raise InterpolationError(f"{leftover.group(0)} is not a variable of this dashboard")
    return expanded

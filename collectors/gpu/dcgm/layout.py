"""Row assembly, and its compiled form for scrapes that repeat the previous scrape's series exactly.

A dcgm-exporter target prints the same series in the same order every scrape; only values change. The
general path (:class:`~collectors.gpu.dcgm.normalise.Normaliser`) walks every sample through its plan with
Python-level checks. A :class:`Layout` is that walk compiled once: which sample positions feed which
column of which row, with per-position factors, blank thresholds and ranges as flat lists, so that a scrape
is converted and checked with ``map`` over lists (C loops) and rows are assembled by position.

The layout never decides anything the general path would decide differently: if any value is a blank,
out of range, non-finite, or if holder copies disagree, :meth:`Layout.apply` returns None and the caller
takes the general path for that scrape, which reports the problem. A test normalises the same scrapes both
ways and compares the frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter, le, lt, mul, truediv
from typing import Any

from collectors.errors import InputError
from collectors.gpu.dcgm.parse import ExpositionResult, Series
from collectors.gpu.dcgm.plan import HOLDER_KEYS, IGNORE, XID, XID_WINDOW, HolderKey, Plan

SHARE_COLUMNS = ("util_ratio", "mem_used_bytes")


@dataclass(frozen=True)
class XidObservation:
    """An XID reading of one GPU at one scrape, before change detection."""

    node: str
    gpu_uuid: str
    gpu_instance_id: int | None
    event: str  # "xid" (last-XID gauge) or "xid_window" (XIDs counted in the exporter's window)
    code: int
    value: float
    message: str | None = None
    window_ms: int | None = None


@dataclass
class RowParts:
    """One row being assembled: constant columns, device-level values, per-holder values."""

    const: dict[str, Any]
    device: dict[str, Any] = field(default_factory=dict)
    holder_values: dict[HolderKey, dict[str, Any]] = field(default_factory=dict)
    xid_message: str | None = None

    def holder(self, key: HolderKey) -> dict[str, Any]:
        values = self.holder_values.get(key)
        if values is None:
            values = self.holder_values[key] = {}
        return values


def _share(holder: dict[str, Any], column: str, value: float) -> None:
    holder[column] = round(value) if column == "mem_used_bytes" else value


def finish_row(
    row: RowParts, stamp: int, xids: list[XidObservation], problems: list[InputError], origin: str | None
) -> dict[str, Any]:
    """The landing dict of an assembled row (general path): fold holder copies, note the XID reading."""
    values = dict(row.device)
    holders: list[dict[str, Any]] = []
    for hkey, hvalues in row.holder_values.items():
        holder: dict[str, Any] = dict(zip(HOLDER_KEYS, hkey, strict=True))
        for column, v in hvalues.items():
            if column in row.device:
                if column in SHARE_COLUMNS:
                    _share(holder, column, v)
                continue
            earlier = values.get(column)
            if earlier is None:
                values[column] = v
            elif earlier != v:
                reason = f"holder series of {row.const['gpu_uuid']} disagree on {column} ({earlier:g} vs {v:g})"
                problems.append(InputError(reason + "; first kept", file=origin, field=column))
        holders.append(holder)
    out = dict(row.const)
    out["ts_us"] = stamp
    out.update(values)
    out["holders"] = holders
    if "xid_last" in values:
        xids.append(_xid(row.const, values["xid_last"], row.xid_message))
    return out


def _xid(const: Mapping[str, Any], value: float, message: str | None) -> XidObservation:
    code = int(value)
    return XidObservation(const["node"], const["gpu_uuid"], const["gpu_instance_id"], "xid", code, code, message)


@dataclass
class _RowSpec:
    const: dict[str, Any]
    base: dict[str, Any]
    columns: tuple[str, ...]
    positions: tuple[int, ...]
    holders: list[dict[str, Any]]
    shares: list[tuple[int, str, int]]
    xid_position: int | None
    xid_message: str | None


@dataclass
class Layout:
    """A compiled scrape: apply it to the values of a scrape with the same series list."""

    series: list[Series]
    pick: Callable[[Sequence[float]], Sequence[float]]
    divs: list[float]
    muls: list[float]
    los: list[float]
    his: list[float]
    blanks: list[float]
    checks: list[tuple[int, int]]
    rows: list[_RowSpec]
    windows: list[tuple[int, Plan]]
    ignored: int
    last: dict[int, float]

    def apply(self, values: Sequence[float], stamp: int, xids: list[XidObservation]) -> list[dict[str, Any]] | None:
        """Rows for ``values``; None when any value needs the general path's judgement."""
        picked = self.pick(values)
        if not all(map(lt, picked, self.blanks)):
            return None
        conv = list(map(mul, map(truediv, picked, self.divs), self.muls))
        if not (all(map(le, self.los, conv)) and all(map(le, conv, self.his))):
            return None
        for a, b in self.checks:
            if conv[a] != conv[b]:
                return None
        last = self.last
        for i, plan in self.windows:
            v = values[i]
            if not math.isfinite(v):
                return None
            if v != last.get(-1 - i):
                last[-1 - i] = v
                meta = plan.meta
                assert meta is not None
                xids.append(
                    XidObservation(
                        meta.node, meta.gpu_uuid, meta.gpu_instance_id, "xid_window", plan.xid, v, None,
                        plan.window_ms,
                    )
                )  # fmt: skip
        out: list[dict[str, Any]] = []
        get = conv.__getitem__
        for spec in self.rows:
            row = spec.base.copy()
            row["ts_us"] = stamp
            row.update(zip(spec.columns, map(get, spec.positions), strict=True))
            if spec.shares:
                holders = [dict(h) for h in spec.holders]
                for h, column, pos in spec.shares:
                    _share(holders[h], column, conv[pos])
                row["holders"] = holders
            xpos = spec.xid_position
            if xpos is not None and conv[xpos] != last.get(xpos):
                last[xpos] = conv[xpos]
                xids.append(_xid(spec.const, conv[xpos], spec.xid_message))
            out.append(row)
        return out


def compile_layout(
    result: ExpositionResult,
    plans: Mapping[Series, Plan],
    row_constants: Callable[[Plan], dict[str, Any]],
    values: Sequence[float],
) -> Layout | None:
    """Compile the layout of ``result``'s series (None if a series has no plan)."""
    positions: list[int] = []
    divs: list[float] = []
    muls: list[float] = []
    los: list[float] = []
    his: list[float] = []
    blanks: list[float] = []
    parts: dict[tuple[str, int | None], RowParts] = {}
    windows: list[tuple[int, Plan]] = []
    ignored = 0
    for i, series in enumerate(result.series):
        plan = plans.get(series)
        if plan is None:
            return None
        if plan.kind == IGNORE:
            ignored += 1
            continue
        assert plan.meta is not None
        row = parts.get(plan.meta.key)
        if row is None:
            row = parts[plan.meta.key] = RowParts(row_constants(plan))
        if plan.kind == XID_WINDOW:
            windows.append((i, plan))
            continue
        f = plan.field
        assert f is not None
        j = len(positions)
        positions.append(i)
        divs.append(plan.divisor)
        muls.append(plan.factor if plan.divisor == 1.0 else 1.0)
        los.append(f.lo)
        his.append(f.hi)
        blanks.append(plan.blank_at)
        (row.device if plan.holder is None else row.holder(plan.holder)).setdefault(plan.column, j)
        if plan.kind == XID and plan.message:
            row.xid_message = plan.message
    checks: list[tuple[int, int]] = []
    specs = [_spec(row, checks) for row in parts.values()]
    pick: Callable[[Sequence[float]], Sequence[float]]
    if len(positions) == 1:
        only = positions[0]
        pick = lambda v: (v[only],)  # noqa: E731
    elif positions:
        pick = itemgetter(*positions)
    else:
        pick = lambda v: ()  # noqa: E731
    layout = Layout(list(result.series), pick, divs, muls, los, his, blanks, checks, specs, windows, ignored, {})
    for spec in specs:
        if spec.xid_position is not None:
            j = spec.xid_position
            layout.last[j] = values[positions[j]] / divs[j] * muls[j]
    for i, _ in windows:
        layout.last[-1 - i] = values[i]
    return layout


def _spec(row: RowParts, checks: list[tuple[int, int]]) -> _RowSpec:
    columns = dict(row.device)
    holders: list[dict[str, Any]] = []
    shares: list[tuple[int, str, int]] = []
    for h, (hkey, hcols) in enumerate(row.holder_values.items()):
        holders.append(dict(zip(HOLDER_KEYS, hkey, strict=True)))
        for column, j in hcols.items():
            if column in row.device:
                if column in SHARE_COLUMNS:
                    shares.append((h, column, j))
            elif column not in columns:
                columns[column] = j
            else:
                checks.append((columns[column], j))
    return _RowSpec(
        row.const,
        {**row.const, "holders": holders},
        tuple(columns),
        tuple(columns.values()),
        holders,
        shares,
        columns.get("xid_last"),
        row.xid_message,
    )

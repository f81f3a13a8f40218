"""dcgm-exporter samples → ``gpu`` landing rows: one row per GPU (or MIG instance) per sample time.

What it does to a scrape, and why:

- **Names and units.** Every known name of every generation (1.x ``dcgm_*``, legacy ``DCGM_FI_*``, 4.9
  renames) maps to its DCGM field ID and from there to one landing column, converted to the column's unit
  (MHz→Hz, mJ→J, %→ratio, MiB→bytes, MB/s→B/s); see :mod:`collectors.gpu.dcgm.names`.
- **Identity.** A row is keyed by the ``UUID``/``uuid`` label and, for MIG GPU-instance series, ``GPU_I_ID``
  (``gpu_uuid`` is the parent GPU's UUID there, as dcgm-exporter prints it). The node is the
  ``Hostname``/``hostname`` label, or the target's host when the exporter runs with ``--no-hostname``.
- **Holders, never double counted.** dcgm-exporter copies every series of a GPU once per pod (Kubernetes) or
  per HPC job holding it. Those copies fold into one row whose ``holders`` lists each holder; values are taken
  once. With ``--kubernetes-virtual-gpus`` the exporter adds per-pod ``GPU_UTIL``/``FB_USED`` beside the
  unlabelled device series: then the device series gives the row's value and each pod's own series its share
  (``holders[].util_ratio``/``mem_used_bytes``). Holder copies that disagree on a value keep the first and
  are reported.
- **Bad values, each with a defined outcome.** DCGM blank sentinels are dropped and counted (they mean "not
  supported", routinely); NaN, ±Inf, negative counters and values outside the field's plausible range
  (a mis-scaled unit, a sentinel that went through a conversion, e.g. 10^14) are dropped and reported with
  their line number; the rest of the row is kept. ``MEMORY_TEMP`` 0 on GDDR parts is unsupported, not 0 °C.
- **XIDs.** ``DCGM_FI_DEV_XID_ERRORS`` (last XID, with ``err_msg``) lands as ``xid_last`` and, with
  ``DCGM_EXP_XID_ERRORS_COUNT`` (per-XID window counts), is also returned as observations from which
  :mod:`collectors.gpu.dcgm.health` makes ``gpu_health`` events when a value changes.

A :class:`Normaliser` belongs to one target. It plans each series once (:mod:`~collectors.gpu.dcgm.plan`)
and, when a scrape has exactly the series of the previous one (the steady state), replays a compiled
:class:`~collectors.gpu.dcgm.layout.Layout` instead of walking the plans; a test proves both give the
same rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from collectors.errors import InputError
from collectors.gpu.dcgm import names
from collectors.gpu.dcgm.layout import Layout, RowParts, XidObservation, compile_layout, finish_row
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.parse import ExpositionResult, Sample, Series
from collectors.gpu.dcgm.plan import IGNORE, XID, XID_WINDOW, Plan, make_plan
from collectors.gpu.dcgm.rows import RowBuffer, gpu_buffer, ts_us
from collectors.gpu.fields import GpuField, Kind

__all__ = ["Normalised", "Normaliser", "XidObservation", "to_gpu_rows"]

_MAX_PLANS = 200_000


@dataclass
class Normalised:
    """What one scrape added: row count, problems, and what was set aside."""

    rows: int = 0
    problems: list[InputError] = field(default_factory=list)
    blanks: int = 0
    ignored: int = 0
    xids: list[XidObservation] = field(default_factory=list)
    generation: Generation | None = None
    fast_path: bool = False


class Normaliser:
    """Lands the scrapes of one target. ``generation`` forces a naming generation (else detected)."""

    def __init__(
        self,
        *,
        site: str,
        node_hint: str,
        interval_s: float,
        producer: str,
        source: str = "dcgm",
        generation: Generation | None = None,
        origin: str | None = None,
        use_layout: bool = True,
    ) -> None:
        self.site = site
        self.node_hint = node_hint
        self.interval_s = float(interval_s)
        self.producer = producer
        self.source = source
        self.forced_generation = generation
        self.origin = origin
        self.use_layout = use_layout
        self.generation: Generation | None = generation
        self._plans: dict[Series, Plan] = {}
        self._helps: dict[str, str] = {}
        self._parser_generation = -1
        self._layout: Layout | None = None

    def normalise(
        self, result: ExpositionResult, ts: dt.datetime, out: RowBuffer, *, parser_generation: int = 0
    ) -> Normalised:
        """Append the rows of one scrape taken at ``ts`` to ``out``; return what happened."""
        if parser_generation != self._parser_generation or len(self._plans) > _MAX_PLANS:
            self._forget()
            self._parser_generation = parser_generation
        if result.helps and result.helps != self._helps:
            self._helps = dict(result.helps)
            self._forget()
        report = Normalised(generation=self.generation)
        stamp = ts_us(ts)
        layout = self._layout
        if layout is not None and result.series == layout.series:
            rows = layout.apply(result.values, stamp, report.xids)
            if rows is not None:
                out.rows.extend(rows)
                report.rows = len(rows)
                report.ignored = layout.ignored
                report.fast_path = True
                return report
            report.xids.clear()
        parts = self._collect(result, report)
        report.generation = self.generation
        for row in parts.values():
            out.append(finish_row(row, stamp, report.xids, report.problems, self.origin))
            report.rows += 1
        if self.use_layout:
            self._layout = compile_layout(result, self._plans, self._row_constants, result.values)
        return report

    def _forget(self) -> None:
        self._plans.clear()
        self._layout = None

    def _row_constants(self, plan: Plan) -> dict[str, Any]:
        meta = plan.meta
        assert meta is not None
        return {
            "interval_s": self.interval_s,
            "site": self.site,
            "node": meta.node,
            "gpu_index": meta.gpu_index,
            "gpu_uuid": meta.gpu_uuid,
            "gpu_instance_id": meta.gpu_instance_id,
            "mig_profile": meta.mig_profile,
            "model": meta.model,
            "pci_bus_id": meta.pci_bus_id,
            "driver_version": meta.driver_version,
            "source": self.source,
            "producer": self.producer,
        }

    # -- the general path: every sample checked, every problem reported --------------------------------------

    def _collect(self, result: ExpositionResult, report: Normalised) -> dict[tuple[str, int | None], RowParts]:
        while True:
            rows: dict[tuple[str, int | None], RowParts] = {}
            restarted = False
            checked = False
            for series, value, line in zip(result.series, result.values, result.line_numbers, strict=True):
                plan = self._plans.get(series)
                if plan is None:
                    if not checked:
                        checked = True
                        if self._update_generation(result):
                            restarted = True
                            break
                    plan = make_plan(
                        series,
                        helps=self._helps,
                        generation=self.generation,
                        node_hint=self.node_hint,
                        origin=self.origin,
                        problems=report.problems,
                    )
                    self._plans[series] = plan
                if plan.kind == IGNORE:
                    report.ignored += 1
                    continue
                meta = plan.meta
                assert meta is not None
                row = rows.get(meta.key)
                if row is None:
                    row = rows[meta.key] = RowParts(self._row_constants(plan))
                if plan.kind == XID_WINDOW:
                    if math.isfinite(value):
                        report.xids.append(_window_observation(plan, value))
                    continue
                self._value(plan, row, value, line, report)
            if not restarted:
                return rows
            report.problems.clear()
            report.blanks = report.ignored = 0
            report.xids.clear()

    def _value(self, plan: Plan, row: RowParts, value: float, line: int, report: Normalised) -> None:
        f = plan.field
        assert f is not None
        if plan.blank_at <= value < math.inf:  # +Inf is not a sentinel but a bad value, reported below
            report.blanks += 1
            return
        v = plan.convert(value)
        if not (f.lo <= v <= f.hi):
            if f.hi < v <= plan.hi_with_slack:
                v = f.hi
            else:
                reason = _why(f, value, v)
                report.problems.append(InputError(reason, file=self.origin, line=line or None, field=f.column))
                return
        if plan.holder is None:
            row.device.setdefault(plan.column, v)
        else:
            row.holder(plan.holder).setdefault(plan.column, v)
        if plan.kind == XID and plan.message:
            row.xid_message = plan.message

    def _update_generation(self, result: ExpositionResult) -> bool:
        """On a new series, re-read the scrape's generation; True if it changed (plans must be redone)."""
        if self.forced_generation is not None:
            return False
        found: Generation | None = None
        for series in {s.name: s for s in result.series}.values():
            evidence = names.generation_evidence(series.name, [k for k, _ in series.labels])
            if evidence is Generation.V49:
                found = Generation.V49
                break
            if evidence is not None:
                found = Generation.LEGACY
        if found is None or found is self.generation:
            return False
        changed = self.generation is not None
        self.generation = found
        if changed:
            self._forget()
        return changed


def _window_observation(plan: Plan, value: float) -> XidObservation:
    meta = plan.meta
    assert meta is not None
    return XidObservation(
        meta.node, meta.gpu_uuid, meta.gpu_instance_id, "xid_window", plan.xid, value, None, plan.window_ms
    )


def _why(f: GpuField, raw: float, v: float) -> str:
    if math.isnan(raw):
        return f"NaN for {f.column}; value dropped"
    if math.isinf(raw):
        return f"{raw} for {f.column}; value dropped"
    if f.kind is Kind.COUNTER and v < 0:
        return f"negative value {raw:g} for counter {f.column}; value dropped"
    return f"{raw:g} is outside the plausible range of {f.column} ([{f.lo:g}, {f.hi:g}] {f.unit}); value dropped"


def to_gpu_rows(
    samples: ExpositionResult | Sequence[Sample],
    *,
    ts: dt.datetime,
    site: str,
    node_hint: str,
    interval_s: float,
    producer: str,
    source: str = "dcgm",
    generation: Generation | None = None,
    origin: str | None = None,
) -> tuple[pl.DataFrame, Normalised]:
    """The ``gpu`` landing rows of one scrape (GPU_SAMPLE shape) and the report (problems, XID observations)."""
    if not isinstance(samples, ExpositionResult):
        samples = ExpositionResult([s.series for s in samples], [s.value for s in samples], [s.line for s in samples])
    normaliser = Normaliser(
        site=site,
        node_hint=node_hint,
        interval_s=interval_s,
        producer=producer,
        source=source,
        generation=generation,
        origin=origin,
        use_layout=False,
    )
    buffer = gpu_buffer()
    report = normaliser.normalise(samples, ts, buffer)
    return buffer.to_frame(), report

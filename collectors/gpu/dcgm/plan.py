"""How to land one series: decided once per series per target, then reused for every scrape.

A plan says which row (GPU UUID and MIG instance) a series belongs to, which landing column it fills, the
factor to the column's unit, the blank-sentinel threshold and plausible range to check, and which holder
(pod, namespace, container, pod UID, HPC job) it speaks for, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.errors import InputError
from collectors.gpu.dcgm import names
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.parse import Series
from collectors.gpu.fields import BY_ID, RATIO_SLACK, GpuField

IGNORE, FIELD, XID, XID_WINDOW = 0, 1, 2, 3

HolderKey = tuple[str | None, str | None, str | None, str | None, str | None]
HOLDER_KEYS = ("namespace", "pod", "container", "pod_uid", "hpc_job")


@dataclass(frozen=True, slots=True)
class Meta:
    """Identity of the row a series belongs to: one GPU, or one MIG GPU instance of it."""

    node: str
    gpu_uuid: str
    gpu_index: int | None
    gpu_instance_id: int | None
    mig_profile: str | None
    model: str | None
    pci_bus_id: str | None
    driver_version: str | None

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.gpu_uuid, self.gpu_instance_id)


@dataclass(frozen=True, slots=True)
class Plan:
    kind: int
    meta: Meta | None = None
    field: GpuField | None = None
    column: str = ""
    factor: float = 1.0
    divisor: float = 1.0
    blank_at: float = float("inf")
    holder: HolderKey | None = None
    message: str | None = None
    window_ms: int | None = None
    xid: int = 0

    @property
    def hi_with_slack(self) -> float:
        f = self.field
        assert f is not None
        return f.hi + RATIO_SLACK if f.unit == "ratio" else f.hi

    def convert(self, value: float) -> float:
        # Down-scaling divides: 15152422938 mJ / 1000 is exactly 15152422.938 J; * 1e-3 is not.
        return value * self.factor if self.divisor == 1.0 else value / self.divisor


IGNORED = Plan(IGNORE)


def make_plan(
    series: Series,
    *,
    helps: dict[str, str],
    generation: Generation | None,
    node_hint: str,
    origin: str | None,
    problems: list[InputError],
) -> Plan:
    """The plan for one series; problems (a known GPU field without a UUID label) are appended."""
    labels = series.label_map
    is_window = series.name == names.XID_WINDOW_COUNT
    metric = names.METRICS.get(series.name)
    if metric is None and not is_window:
        return IGNORED
    uuid = first_label(labels, names.UUID_LABELS)
    if not uuid:
        problems.append(InputError(f"{series.name} has no UUID label; series ignored", file=origin))
        return IGNORED
    meta = _meta(labels, uuid, node_hint)
    if is_window:
        try:
            xid = int(labels.get("xid", ""))
        except ValueError:
            return IGNORED
        window = labels.get("window_size_in_ms", "")
        return Plan(XID_WINDOW, meta, xid=xid, window_ms=int(window) if window.isdigit() else None)
    assert metric is not None
    f = BY_ID[metric.dcgm_id]
    unit = names.resolve_unit(metric, help_text=helps.get(series.name), generation=generation)
    factor = names.UNIT_FACTORS[unit] / names.UNIT_FACTORS[f.unit if f.unit in names.UNIT_FACTORS else ""]
    divisor = float(round(1 / factor)) if factor < 1 else 1.0
    kind = XID if f.column == "xid_last" else FIELD
    message = labels.get(names.XID_MESSAGE_LABEL) or None
    return Plan(kind, meta, f, f.column, factor, divisor, f.is_blank_threshold(), holder_of(labels), message)


def first_label(labels: dict[str, str], candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        value = labels.get(name)
        if value:
            return value
    return None


def holder_of(labels: dict[str, str]) -> HolderKey | None:
    """Who the series speaks for; None for device-level series (no or only empty holder labels)."""
    values = tuple(first_label(labels, candidates) for _, candidates in names.HOLDER_LABELS)
    if not any(values):
        return None
    return values  # type: ignore[return-value]


def _meta(labels: dict[str, str], uuid: str, node_hint: str) -> Meta:
    gi = labels.get(names.MIG_ID_LABEL)
    index = labels.get(names.GPU_INDEX_LABEL)
    return Meta(
        node=first_label(labels, names.HOSTNAME_LABELS) or node_hint,
        gpu_uuid=uuid,
        gpu_index=int(index) if index and index.isdigit() else None,
        gpu_instance_id=int(gi) if gi and gi.isdigit() else None,
        mig_profile=labels.get(names.MIG_PROFILE_LABEL) or None,
        model=first_label(labels, names.MODEL_LABELS),
        pci_bus_id=labels.get(names.PCI_LABEL) or None,
        driver_version=first_label(labels, names.DRIVER_LABELS),
    )

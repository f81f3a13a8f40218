"""Render GPU readings as dcgm-exporter would print them, in any of its naming generations.

The inverse of :mod:`collectors.gpu.dcgm.normalise`: readings in aigrid's canonical units become a
``/metrics`` body with the names, units, label spellings and per-holder series duplication of the chosen
generation. It feeds the fake exporter (tests, benchmarks, the simulator's live mode) and the round-trip
tests that prove normalisation undoes each generation's units. Formatting follows dcgm-exporter's template:
integer fields as integers, double fields with six decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from collectors.gpu.dcgm.names import METRICS, UNIT_FACTORS, Generation, MetricName
from collectors.gpu.fields import BY_COLUMN, GpuField, Kind

#: Families in dcgm-exporter's default-counters.csv order, then the opt-in ones.
FAMILY_ORDER = (
    "sm_clock_hz",
    "mem_clock_hz",
    "mem_temp_c",
    "temp_c",
    "power_w",
    "energy_counter_j",
    "pcie_replay_total",
    "util_ratio",
    "mem_util_ratio",
    "enc_util_ratio",
    "dec_util_ratio",
    "xid_last",
    "_mem_free_bytes",
    "mem_used_bytes",
    "_mem_reserved_bytes",
    "nvlink_bytes_s",
    "vgpu_license_status",
    "remapped_rows_uncorrectable",
    "remapped_rows_correctable",
    "remap_failed",
    "gr_engine_active_ratio",
    "tensor_active_ratio",
    "dram_active_ratio",
    "pcie_tx_bytes_s",
    "pcie_rx_bytes_s",
    "power_instant_w",
    "power_limit_w",
    "throttle_reasons",
    "pstate",
    "mem_total_bytes",
    "ecc_corrected_total",
    "ecc_uncorrected_total",
    "remap_pending",
    "sm_active_ratio",
    "nvlink_tx_bytes_s",
    "nvlink_rx_bytes_s",
)

#: How dcgm-exporter's CSV types the families (NVLink total is typed counter although it is a rate).
_EXPORTER_COUNTERS = frozenset({"nvlink_bytes_s"})
_HELP_UNIT_TEXT = {"degC": "C", "B": "bytes", "": "", "1": "", "ratio": ""}
#: HELP texts as dcgm-exporter's default-counters.csv words them (without the unit).
_HELP = {
    "sm_clock_hz": "SM clock frequency",
    "mem_clock_hz": "Memory clock frequency",
    "mem_temp_c": "Memory temperature",
    "temp_c": "GPU temperature",
    "power_w": "Power draw",
    "energy_counter_j": "Total energy consumption since boot",
    "pcie_replay_total": "Total number of PCIe retries",
    "util_ratio": "GPU utilization",
    "mem_util_ratio": "Memory utilization",
    "enc_util_ratio": "Encoder utilization",
    "dec_util_ratio": "Decoder utilization",
    "xid_last": "Value of the last XID error encountered",
    "_mem_free_bytes": "Framebuffer memory free",
    "mem_used_bytes": "Framebuffer memory used",
    "_mem_reserved_bytes": "Framebuffer memory reserved",
    "nvlink_bytes_s": "Total number of NVLink bandwidth counters for all lanes",
    "vgpu_license_status": "vGPU License status",
    "remapped_rows_uncorrectable": "Number of remapped rows for uncorrectable errors",
    "remapped_rows_correctable": "Number of remapped rows for correctable errors",
    "remap_failed": "Whether remapping of rows has failed",
    "gr_engine_active_ratio": "Ratio of time the graphics engine is active",
    "tensor_active_ratio": "Ratio of cycles the tensor (HMMA) pipe is active",
    "dram_active_ratio": "Ratio of cycles the device memory interface is active sending or receiving data",
    "pcie_tx_bytes_s": "The rate of data transmitted over the PCIe bus",
    "pcie_rx_bytes_s": "The rate of data received over the PCIe bus",
}


@dataclass
class GpuReading:
    """One GPU (or MIG GPU instance) at one scrape, in canonical units (column name → value)."""

    uuid: str
    index: int
    hostname: str
    values: Mapping[str, float]
    model: str | None = "NVIDIA H100 80GB HBM3"
    pci_bus_id: str | None = None
    driver_version: str | None = None
    gpu_instance_id: int | None = None
    mig_profile: str | None = None
    #: Label sets of the pods or HPC jobs holding the GPU; the exporter prints every series once per holder.
    holders: Sequence[Mapping[str, str]] = ()
    #: ``--kubernetes-virtual-gpus``: device series without pod labels, plus per-pod series whose GPU_UTIL
    #: and FB_USED are the pod's own share (``holder_shares``: pod → {"util_ratio": …, "mem_used_bytes": …}).
    virtual_gpus: bool = False
    holder_shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    xid_message: str | None = None
    #: ``DCGM_EXP_XID_ERRORS_COUNT``: XID → count in the window.
    xid_window: Mapping[int, int] = field(default_factory=dict)


def metric_name_for(column: str, generation: Generation) -> MetricName | None:
    """The exporter name of a canonical column in a generation (None: that generation does not print it)."""
    f = BY_COLUMN[column]
    candidates = [m for m in METRICS.values() if m.dcgm_id == f.dcgm_id]
    if generation is Generation.V1:
        wanted = [m for m in candidates if m.generation is Generation.V1]
    else:
        wanted = [m for m in candidates if m.generation in (generation, None)]
    wanted.sort(key=lambda m: m.name != f.dcgm_name)  # prefer the canonical legacy spelling
    return wanted[0] if wanted else None


def printed_unit(meta: MetricName, generation: Generation) -> str:
    if meta.generation is None and meta.unit_49 is not None and generation is Generation.V49:
        return meta.unit_49
    return meta.legacy_unit


def format_value(f: GpuField, canonical: float, unit: str) -> str:
    factor = UNIT_FACTORS[unit] / UNIT_FACTORS[f.unit if f.unit in UNIT_FACTORS else ""]
    raw = canonical / factor if factor >= 1 else canonical * round(1 / factor)
    if f.dcgm_type == "int64" and unit not in ("ratio", "J"):
        return str(round(raw))
    return f"{raw:f}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)


def _base_labels(r: GpuReading, generation: Generation, hostname_label: str) -> list[tuple[str, str]]:
    uuid_label = "uuid" if generation is Generation.V1 else "UUID"
    pairs = [("gpu", str(r.index)), (uuid_label, r.uuid)]
    if r.pci_bus_id and generation is not Generation.V1:
        pairs.append(("pci_bus_id", r.pci_bus_id))
    pairs.append(("device", f"nvidia{r.index}"))
    if r.model and generation is not Generation.V1:
        pairs.append(("modelName", r.model))
    if r.gpu_instance_id is not None:
        pairs += [("GPU_I_PROFILE", r.mig_profile or ""), ("GPU_I_ID", str(r.gpu_instance_id))]
    if hostname_label:
        pairs.append((hostname_label, r.hostname))
    if r.driver_version and generation is not Generation.V1:
        driver = "DCGM_FI_SYSTEM_DRIVER_VERSION" if generation is Generation.V49 else "DCGM_FI_DRIVER_VERSION"
        pairs.append((driver, r.driver_version))
    return pairs


def _holder_labels(holder: Mapping[str, str], generation: Generation) -> list[tuple[str, str]]:
    if generation is Generation.V1:
        renamed = {"pod": "pod_name", "namespace": "pod_namespace", "container": "container_name"}
        return [(renamed.get(k, k), v) for k, v in holder.items()]
    return list(holder.items())


def render_exposition(
    readings: Sequence[GpuReading],
    *,
    generation: Generation = Generation.LEGACY,
    with_help: bool = True,
    hostname_label: str | None = None,
) -> str:
    """A ``/metrics`` body for ``readings`` as dcgm-exporter of ``generation`` prints it."""
    if hostname_label is None:
        hostname_label = "hostname" if generation is Generation.V49 else "Hostname"
    base = {id(r): _base_labels(r, generation, hostname_label) for r in readings}
    lines: list[str] = []
    for column in FAMILY_ORDER:
        meta = metric_name_for(column, generation)
        present = [r for r in readings if column in r.values]
        if meta is None or not present:
            continue
        f = BY_COLUMN[column]
        unit = printed_unit(meta, generation)
        if with_help:
            unit_text = _HELP_UNIT_TEXT.get(unit, unit)
            suffix = f" (in {unit_text})." if unit_text else "."
            lines.append(f"# HELP {meta.name} {_HELP.get(column, f.doc or column)}{suffix}")
            kind = "counter" if f.kind is Kind.COUNTER or column in _EXPORTER_COUNTERS else "gauge"
            lines.append(f"# TYPE {meta.name} {kind}")
        for r in present:
            lines.extend(_series_lines(meta.name, f, unit, r, base[id(r)], column, generation))
    window_lines = []
    for r in readings:
        for xid, count in r.xid_window.items():
            pairs = [*base[id(r)], ("window_size_in_ms", "300000"), ("xid", str(xid))]
            window_lines.append(f"DCGM_EXP_XID_ERRORS_COUNT{{{_labels(pairs)}}} {count}")
    if window_lines:
        if with_help:
            lines.append("# HELP DCGM_EXP_XID_ERRORS_COUNT Count of XID Errors within user-specified time window.")
            lines.append("# TYPE DCGM_EXP_XID_ERRORS_COUNT gauge")
        lines.extend(window_lines)
    return "\n".join(lines) + "\n"


def _series_lines(
    name: str,
    f: GpuField,
    unit: str,
    r: GpuReading,
    base: list[tuple[str, str]],
    column: str,
    generation: Generation,
) -> list[str]:
    value = format_value(f, r.values[column], unit)
    extra: list[tuple[str, str]] = []
    if column == "xid_last" and r.xid_message is not None:
        extra = [("err_code", str(round(r.values[column]))), ("err_msg", r.xid_message)]
    out: list[str] = []
    if not r.holders or r.virtual_gpus:
        out.append(f"{name}{{{_labels([*base, *extra])}}} {value}")
    for holder in r.holders:
        shown = value
        share = r.holder_shares.get(holder.get("pod", ""), {})
        if r.virtual_gpus and column in share:
            shown = format_value(f, share[column], unit)
        out.append(f"{name}{{{_labels([*base, *extra, *_holder_labels(holder, generation)])}}} {shown}")
    return out


def reading_values_from_memory(total_bytes: float, used_bytes: float, reserved_bytes: float) -> dict[str, float]:
    """Framebuffer values as dcgm-exporter splits them (free + used + reserved = total)."""
    return {
        "mem_used_bytes": used_bytes,
        "_mem_reserved_bytes": reserved_bytes,
        "_mem_free_bytes": total_bytes - used_bytes - reserved_bytes,
    }

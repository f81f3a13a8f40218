"""dcgm-exporter metric and label names across its generations, and the unit each name is printed in.

Three naming generations are in the wild (shared/reference/gpu-telemetry.md §1.2, §1.8):

- **1.x** (``etc/1.x-compatibility-metrics.csv``, still seen, deprecated in 4.9.0): ``dcgm_gpu_temp``,
  ``dcgm_power_usage``, ``dcgm_total_energy_consumption``… with ``uuid`` and ``pod_name``/``pod_namespace``/
  ``container_name`` labels (``--use-old-namespace``);
- **legacy** (2.x – 4.8): ``DCGM_FI_DEV_*`` names as in ``default-counters.csv``; clocks in MHz, energy in mJ,
  utilisation in %, framebuffer in MiB, NVLink in MB/s; ``Hostname`` until 4.8.3, ``hostname`` after;
- **4.9** (DCGM 4.7): 23 fields renamed to DCGM's canonical names (``DCGM_FI_DEV_GPU_TEMP_CELSIUS``,
  ``DCGM_FI_DEV_BOARD_POWER_WATTS``, ``DCGM_FI_DEV_GPU_UTIL_RATIO``…) and 11 fields changed unit (MHz→Hz,
  mJ→J, %→0–1, MiB→bytes, MB/s→B/s); the driver label becomes ``DCGM_FI_SYSTEM_DRIVER_VERSION``.

Eleven unit changes are named by the release notes without a list; the eleven fields whose legacy unit is one
of those units are SM and memory clock, energy, the four utilisations, the three framebuffer fields and the
NVLink total, which is the reading used here. Some of them keep their name, so the unit of a name can depend
on the generation: :func:`resolve_unit` decides it from, in order, the name itself, the family's HELP text,
the scrape's generation markers, and the target's last known generation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Generation(StrEnum):
    V1 = "1.x"
    LEGACY = "legacy"
    V49 = "4.9"


#: Factor from a printed unit to the canonical unit of :mod:`collectors.gpu.fields`.
UNIT_FACTORS: MappingProxyType[str, float] = MappingProxyType(
    {
        "MHz": 1e6,
        "Hz": 1.0,
        "mJ": 1e-3,
        "J": 1.0,
        "%": 0.01,
        "ratio": 1.0,
        "MiB": float(1 << 20),
        "B": 1.0,
        "MB/s": 1e6,
        "B/s": 1.0,
        "W": 1.0,
        "degC": 1.0,
        "1": 1.0,
        "": 1.0,
    }
)


@dataclass(frozen=True)
class MetricName:
    """One exporter metric name: its DCGM field ID, the generation that prints it, and its unit(s)."""

    name: str
    dcgm_id: int
    generation: Generation | None  # None: the same name in legacy and 4.9
    legacy_unit: str
    unit_49: str | None = None  # unit when printed by 4.9, if different


def _both(name: str, dcgm_id: int, legacy: str, new: str | None = None) -> MetricName:
    return MetricName(name, dcgm_id, None, legacy, new)


def _legacy(name: str, dcgm_id: int, unit: str) -> MetricName:
    return MetricName(name, dcgm_id, Generation.LEGACY, unit)


def _v49(name: str, dcgm_id: int, unit: str) -> MetricName:
    return MetricName(name, dcgm_id, Generation.V49, unit)


def _v1(name: str, dcgm_id: int, unit: str) -> MetricName:
    return MetricName(name, dcgm_id, Generation.V1, unit)


_NAMES: tuple[MetricName, ...] = (
    # Same name in legacy and 4.9 (unit may differ).
    _both("DCGM_FI_DEV_SM_CLOCK", 100, "MHz", "Hz"),
    _both("DCGM_FI_DEV_MEM_CLOCK", 101, "MHz", "Hz"),
    _both("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 156, "mJ", "J"),
    _both("DCGM_FI_DEV_MEM_COPY_UTIL", 204, "%", "ratio"),
    _both("DCGM_FI_DEV_ENC_UTIL", 206, "%", "ratio"),
    _both("DCGM_FI_DEV_DEC_UTIL", 207, "%", "ratio"),
    _both("DCGM_FI_DEV_FB_FREE", 251, "MiB", "B"),
    _both("DCGM_FI_DEV_FB_USED", 252, "MiB", "B"),
    _both("DCGM_FI_DEV_FB_RESERVED", 253, "MiB", "B"),
    _both("DCGM_FI_DEV_FB_TOTAL", 250, "MiB", "B"),
    _both("DCGM_FI_DEV_VGPU_LICENSE_STATUS", 526, ""),
    _both("DCGM_FI_DEV_POWER_USAGE_INSTANT", 157, "W"),
    _both("DCGM_FI_DEV_ENFORCED_POWER_LIMIT", 164, "W"),
    _both("DCGM_FI_DEV_PSTATE", 190, ""),
    _both("DCGM_FI_DEV_CLOCKS_EVENT_REASONS", 112, ""),
    _both("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", 112, ""),
    _both("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", 310, "1"),
    _both("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", 311, "1"),
    _both("DCGM_FI_DEV_ROW_REMAP_PENDING", 396, ""),
    _both("DCGM_FI_PROF_SM_ACTIVE", 1002, "ratio"),
    _both("DCGM_FI_PROF_PCIE_TX_BYTES", 1009, "B/s"),
    _both("DCGM_FI_PROF_PCIE_RX_BYTES", 1010, "B/s"),
    _both("DCGM_FI_PROF_NVLINK_TX_BYTES", 1011, "B/s"),
    _both("DCGM_FI_PROF_NVLINK_RX_BYTES", 1012, "B/s"),
    # Legacy names renamed in 4.9, and their 4.9 names.
    _legacy("DCGM_FI_DEV_MEMORY_TEMP", 140, "degC"),
    _v49("DCGM_FI_DEV_MEMORY_TEMP_CELSIUS", 140, "degC"),
    _legacy("DCGM_FI_DEV_GPU_TEMP", 150, "degC"),
    _v49("DCGM_FI_DEV_GPU_TEMP_CELSIUS", 150, "degC"),
    _legacy("DCGM_FI_DEV_POWER_USAGE", 155, "W"),
    _v49("DCGM_FI_DEV_BOARD_POWER_WATTS", 155, "W"),
    _legacy("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", 202, "1"),
    _v49("DCGM_FI_DEV_PCIE_REPLAY_TOTAL", 202, "1"),
    _legacy("DCGM_FI_DEV_GPU_UTIL", 203, "%"),
    _v49("DCGM_FI_DEV_GPU_UTIL_RATIO", 203, "ratio"),
    _legacy("DCGM_FI_DEV_XID_ERRORS", 230, ""),
    _v49("DCGM_FI_DEV_XID_ERROR", 230, ""),
    _legacy("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", 393, "1"),
    _v49("DCGM_FI_DEV_ROW_REMAP_UNCORRECTABLE_TOTAL", 393, "1"),
    _legacy("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", 394, "1"),
    _v49("DCGM_FI_DEV_ROW_REMAP_CORRECTABLE_TOTAL", 394, "1"),
    _legacy("DCGM_FI_DEV_ROW_REMAP_FAILURE", 395, ""),
    _v49("DCGM_FI_DEV_ROW_REMAP_FAILED", 395, ""),
    _legacy("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", 449, "MB/s"),
    _v49("DCGM_FI_DEV_NVLINK_THROUGHPUT_TOTAL", 449, "B/s"),
    _legacy("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 1001, "ratio"),
    _v49("DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO", 1001, "ratio"),
    _legacy("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", 1004, "ratio"),
    _v49("DCGM_FI_PROF_TENSOR_UTIL_RATIO", 1004, "ratio"),
    _legacy("DCGM_FI_PROF_DRAM_ACTIVE", 1005, "ratio"),
    _v49("DCGM_FI_PROF_DRAM_UTIL_RATIO", 1005, "ratio"),
    # 1.x compatibility names (etc/1.x-compatibility-metrics.csv).
    _v1("dcgm_sm_clock", 100, "MHz"),
    _v1("dcgm_memory_clock", 101, "MHz"),
    _v1("dcgm_memory_temp", 140, "degC"),
    _v1("dcgm_gpu_temp", 150, "degC"),
    _v1("dcgm_power_usage", 155, "W"),
    _v1("dcgm_total_energy_consumption", 156, "mJ"),
    _v1("dcgm_pcie_replay_counter", 202, "1"),
    _v1("dcgm_gpu_utilization", 203, "%"),
    _v1("dcgm_mem_copy_utilization", 204, "%"),
    _v1("dcgm_enc_utilization", 206, "%"),
    _v1("dcgm_dec_utilization", 207, "%"),
    _v1("dcgm_xid_errors", 230, ""),
    _v1("dcgm_fb_free", 251, "MiB"),
    _v1("dcgm_fb_used", 252, "MiB"),
    _v1("dcgm_ecc_sbe_volatile_total", 310, "1"),
    _v1("dcgm_ecc_dbe_volatile_total", 311, "1"),
    _v1("dcgm_nvlink_bandwidth_total", 449, "MB/s"),
)

METRICS: MappingProxyType[str, MetricName] = MappingProxyType({m.name: m for m in _NAMES})

#: Exporter-owned XID series (not DCGM fields): XIDs per GPU in a sliding window, label ``xid``.
XID_WINDOW_COUNT = "DCGM_EXP_XID_ERRORS_COUNT"

#: Label names, in the order they are looked for.
UUID_LABELS = ("UUID", "uuid")
HOSTNAME_LABELS = ("Hostname", "hostname")
MODEL_LABELS = ("modelName", "model_name")
DRIVER_LABELS = ("DCGM_FI_DRIVER_VERSION", "DCGM_FI_SYSTEM_DRIVER_VERSION")
GPU_INDEX_LABEL = "gpu"
PCI_LABEL = "pci_bus_id"
MIG_ID_LABEL = "GPU_I_ID"
MIG_PROFILE_LABEL = "GPU_I_PROFILE"
XID_MESSAGE_LABEL = "err_msg"

#: Holder labels: (holder field, label names in priority order). ``exported_*`` first: behind a
#: ServiceMonitor without ``honorLabels`` Prometheus renames the exporter's ``pod`` to ``exported_pod`` and
#: puts the *exporter's own* pod in ``pod``.
HOLDER_LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("namespace", ("exported_namespace", "namespace", "pod_namespace")),
    ("pod", ("exported_pod", "pod", "pod_name")),
    ("container", ("exported_container", "container", "container_name")),
    ("pod_uid", ("exported_pod_uid", "pod_uid")),
    ("hpc_job", ("hpc_job",)),
)

#: Evidence of a generation in a scrape: any of these metric or label names.
_V49_LABEL = "DCGM_FI_SYSTEM_DRIVER_VERSION"
_LEGACY_LABEL = "DCGM_FI_DRIVER_VERSION"

_HELP_UNIT = re.compile(r"\(in ([^)]+)\)")
_HELP_UNITS = {
    "mhz": "MHz",
    "hz": "Hz",
    "mj": "mJ",
    "j": "J",
    "%": "%",
    "mib": "MiB",
    "bytes": "B",
    "b": "B",
    "w": "W",
    "c": "degC",
    "mb/s": "MB/s",
    "b/s": "B/s",
    "bytes/s": "B/s",
}


def generation_evidence(name: str, label_names: tuple[str, ...] | list[str]) -> Generation | None:
    """What one series says about the generation of the exporter that printed it (None: nothing)."""
    meta = METRICS.get(name)
    if meta is not None and meta.generation is not None:
        return meta.generation
    if _V49_LABEL in label_names:
        return Generation.V49
    if _LEGACY_LABEL in label_names:
        return Generation.LEGACY
    return None


def help_unit(help_text: str | None) -> str | None:
    """The unit a HELP text states, e.g. ``"SM clock frequency (in MHz)."`` → ``"MHz"``."""
    if not help_text:
        return None
    m = _HELP_UNIT.search(help_text)
    if m is None:
        return None
    return _HELP_UNITS.get(m.group(1).strip().lower())


def resolve_unit(meta: MetricName, *, help_text: str | None, generation: Generation | None) -> str:
    """The unit a value of ``meta`` is printed in, given the family's HELP text and the scrape's generation."""
    if meta.generation is not None or meta.unit_49 is None:
        return meta.legacy_unit
    stated = help_unit(help_text)
    if stated is not None and stated in (meta.legacy_unit, meta.unit_49):
        return stated
    return meta.unit_49 if generation is Generation.V49 else meta.legacy_unit

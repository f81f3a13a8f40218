"""The canonical GPU field map: which device field lands in which ``gpu`` landing column, in which unit.

Every GPU source (dcgm-exporter text, Prometheus history, the NVML agent) reads the same physical fields
under different names and units. The map is keyed on the **DCGM field ID**, because DCGM's renames are
additive aliases over stable numeric IDs (``#define DCGM_FI_DEV_GPU_UTIL DCGM_FI_DEV_GPU_UTIL_RATIO // 203``
in go-dcgm's ``dcgm_fields.h``), while names and units drift between exporter releases.

Each field says how a collector must treat it:

- ``kind``: counters are kept as the device reports them (cumulative; the pipeline takes deltas and detects
  resets) and must never be negative; gauges are point values. ``DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL`` is typed
  ``counter`` by dcgm-exporter but goes down (NVIDIA/dcgm-exporter#417), so it is a gauge here.
- ``dcgm_type``: DCGM reports "no value" with blank sentinels rather than omitting the field: int64 fields
  use values from ``DCGM_INT64_BLANK = 0x7ffffffffffffff0`` up (``+1`` not found, ``+2`` not supported,
  ``+3`` no permission), double fields from ``DCGM_FP64_BLANK = 2**47 = 140737488355328.0`` up
  (go-dcgm ``dcgm_structs.h``). dcgm-exporter filters some of them, not all.
- ``lo``/``hi``: the plausible range in the canonical unit. A value outside it is a mis-scaled unit or a
  sentinel that slipped through a conversion (e.g. 10^14); collectors drop it and report it, they never
  land it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

#: ``DCGM_INT64_BLANK``; every int64 value at or above it is a sentinel, not a reading.
DCGM_INT64_BLANK = 0x7FFFFFFFFFFFFFF0
#: ``DCGM_FP64_BLANK``; every double value at or above it is a sentinel, not a reading.
DCGM_FP64_BLANK = 140737488355328.0
#: The int64 threshold as a float: exposition text is parsed to float, and float(0x7ffffffffffffff0) == 2**63.
_INT64_BLANK_AS_FLOAT = float(DCGM_INT64_BLANK)


class Kind(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"


DcgmType = Literal["int64", "fp64"]
ColumnType = Literal["float", "int", "bool"]


@dataclass(frozen=True)
class GpuField:
    """One physical GPU field and where it lands."""

    dcgm_id: int
    dcgm_name: str
    column: str
    unit: str
    kind: Kind
    dcgm_type: DcgmType
    column_type: ColumnType
    lo: float
    hi: float
    doc: str = ""
    zero_means_unsupported: bool = False

    def is_blank_threshold(self) -> float:
        """Raw DCGM values at or above this are blank sentinels (not supported, not found, no permission)."""
        return _INT64_BLANK_AS_FLOAT if self.dcgm_type == "int64" else DCGM_FP64_BLANK

    def is_blank(self, raw: float) -> bool:
        return raw >= self.is_blank_threshold()

    def plausible(self, value: float) -> bool:
        """True when a value in the canonical unit is finite and inside the field's plausible range."""
        return math.isfinite(value) and self.lo <= value <= self.hi


#: Columns that exist only to derive landing columns (``mem_total_bytes`` = free + used + reserved when the
#: source has no total); they are never landed themselves.
DERIVED_ONLY = frozenset({"_mem_free_bytes", "_mem_reserved_bytes"})

_TIB = float(1 << 40)
_G, _C = Kind.GAUGE, Kind.COUNTER
_COUNT_MAX = float(1 << 53)

FIELDS: tuple[GpuField, ...] = (
    GpuField(100, "DCGM_FI_DEV_SM_CLOCK", "sm_clock_hz", "Hz", _G, "int64", "float", 0, 1e10, "SM clock"),
    GpuField(101, "DCGM_FI_DEV_MEM_CLOCK", "mem_clock_hz", "Hz", _G, "int64", "float", 0, 1e10, "memory clock"),
    GpuField(
        112,
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
        "throttle_reasons",
        "bitmask",
        _G,
        "int64",
        "int",
        0,
        float(1 << 32),
        "clocks-event (throttle) reasons bitmask, NVML encoding",
    ),
    GpuField(
        140,
        "DCGM_FI_DEV_MEMORY_TEMP",
        "mem_temp_c",
        "degC",
        _G,
        "int64",
        "float",
        -50,
        200,
        "HBM temperature; GDDR parts (L4, L40S, T4) report 0, which means unsupported",
        zero_means_unsupported=True,
    ),
    GpuField(150, "DCGM_FI_DEV_GPU_TEMP", "temp_c", "degC", _G, "int64", "float", -50, 200, "GPU temperature"),
    GpuField(155, "DCGM_FI_DEV_POWER_USAGE", "power_w", "W", _G, "fp64", "float", 0, 5000, "board power (1 s avg)"),
    GpuField(
        156,
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "energy_counter_j",
        "J",
        _C,
        "int64",
        "float",
        0,
        1e13,
        "energy since the driver was loaded (resets on reload)",
    ),
    GpuField(157, "DCGM_FI_DEV_POWER_USAGE_INSTANT", "power_instant_w", "W", _G, "fp64", "float", 0, 5000),
    GpuField(164, "DCGM_FI_DEV_ENFORCED_POWER_LIMIT", "power_limit_w", "W", _G, "fp64", "float", 0, 5000),
    GpuField(190, "DCGM_FI_DEV_PSTATE", "pstate", "", _G, "int64", "int", 0, 15, "performance state P0..P15"),
    GpuField(202, "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "pcie_replay_total", "1", _C, "int64", "int", 0, _COUNT_MAX),
    GpuField(203, "DCGM_FI_DEV_GPU_UTIL", "util_ratio", "ratio", _G, "int64", "float", 0, 1, "GPU busy ratio"),
    GpuField(204, "DCGM_FI_DEV_MEM_COPY_UTIL", "mem_util_ratio", "ratio", _G, "int64", "float", 0, 1),
    GpuField(206, "DCGM_FI_DEV_ENC_UTIL", "enc_util_ratio", "ratio", _G, "int64", "float", 0, 1),
    GpuField(207, "DCGM_FI_DEV_DEC_UTIL", "dec_util_ratio", "ratio", _G, "int64", "float", 0, 1),
    GpuField(
        230,
        "DCGM_FI_DEV_XID_ERRORS",
        "xid_last",
        "xid",
        _G,
        "int64",
        "int",
        0,
        100_000,
        "value of the last XID seen (0 = none); a last-value gauge, see NVIDIA/dcgm-exporter#190",
    ),
    GpuField(250, "DCGM_FI_DEV_FB_TOTAL", "mem_total_bytes", "B", _G, "int64", "int", 0, 16 * _TIB),
    GpuField(251, "DCGM_FI_DEV_FB_FREE", "_mem_free_bytes", "B", _G, "int64", "int", 0, 16 * _TIB),
    GpuField(252, "DCGM_FI_DEV_FB_USED", "mem_used_bytes", "B", _G, "int64", "int", 0, 16 * _TIB),
    GpuField(253, "DCGM_FI_DEV_FB_RESERVED", "_mem_reserved_bytes", "B", _G, "int64", "int", 0, 16 * _TIB),
    GpuField(310, "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "ecc_corrected_total", "1", _C, "int64", "int", 0, _COUNT_MAX),
    GpuField(311, "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "ecc_uncorrected_total", "1", _C, "int64", "int", 0, _COUNT_MAX),
    GpuField(
        393,
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        "remapped_rows_uncorrectable",
        "1",
        _C,
        "int64",
        "int",
        0,
        _COUNT_MAX,
    ),
    GpuField(
        394,
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
        "remapped_rows_correctable",
        "1",
        _C,
        "int64",
        "int",
        0,
        _COUNT_MAX,
    ),
    GpuField(395, "DCGM_FI_DEV_ROW_REMAP_FAILURE", "remap_failed", "bool", _G, "int64", "bool", 0, 1),
    GpuField(396, "DCGM_FI_DEV_ROW_REMAP_PENDING", "remap_pending", "bool", _G, "int64", "bool", 0, 1),
    GpuField(
        449,
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
        "nvlink_bytes_s",
        "B/s",
        _G,
        "int64",
        "float",
        0,
        1e13,
        "typed counter by dcgm-exporter but decreases (NVIDIA/dcgm-exporter#417): a gauge",
    ),
    GpuField(526, "DCGM_FI_DEV_VGPU_LICENSE_STATUS", "vgpu_license_status", "", _G, "int64", "int", 0, 100),
    GpuField(1001, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gr_engine_active_ratio", "ratio", _G, "fp64", "float", 0, 1),
    GpuField(1002, "DCGM_FI_PROF_SM_ACTIVE", "sm_active_ratio", "ratio", _G, "fp64", "float", 0, 1),
    GpuField(1004, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "tensor_active_ratio", "ratio", _G, "fp64", "float", 0, 1),
    GpuField(1005, "DCGM_FI_PROF_DRAM_ACTIVE", "dram_active_ratio", "ratio", _G, "fp64", "float", 0, 1),
    GpuField(1009, "DCGM_FI_PROF_PCIE_TX_BYTES", "pcie_tx_bytes_s", "B/s", _G, "int64", "float", 0, 1e12),
    GpuField(1010, "DCGM_FI_PROF_PCIE_RX_BYTES", "pcie_rx_bytes_s", "B/s", _G, "int64", "float", 0, 1e12),
    GpuField(1011, "DCGM_FI_PROF_NVLINK_TX_BYTES", "nvlink_tx_bytes_s", "B/s", _G, "int64", "float", 0, 1e13),
    GpuField(1012, "DCGM_FI_PROF_NVLINK_RX_BYTES", "nvlink_rx_bytes_s", "B/s", _G, "int64", "float", 0, 1e13),
)

BY_ID: MappingProxyType[int, GpuField] = MappingProxyType({f.dcgm_id: f for f in FIELDS})
BY_COLUMN: MappingProxyType[str, GpuField] = MappingProxyType({f.column: f for f in FIELDS})

#: DCGM_FI_DRIVER_VERSION (field 1) is a *label* field: dcgm-exporter copies it onto every series.
DRIVER_VERSION_ID = 1

#: Ratios may exceed 1 by rounding in DCGM's profiling arithmetic; this much is tolerated and clamped.
RATIO_SLACK = 1e-6


def landed_columns() -> tuple[str, ...]:
    """Landing columns that some field fills (derived-only helpers excluded)."""
    return tuple(f.column for f in FIELDS if f.column not in DERIVED_ONLY)

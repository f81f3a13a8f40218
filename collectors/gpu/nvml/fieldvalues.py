"""The NVML field values the agent reads in one batched call, and a fast decoder for NVML's answer.

``nvmlDeviceGetFieldValues`` returns an array of ``c_nvmlFieldValue_t`` (field id, scope, timestamp, latency,
value type, return code, value union), one return code per field. Reading it through ``pynvml``'s structs costs
a Python ``__getattribute__`` override per attribute (``_PrintableStructure``), which dominated the agent's
per-sample cost; :func:`decode` unpacks the raw bytes with :mod:`struct` instead. :func:`decode_reference`
is the library's own attribute path: the tests prove both agree on every value type.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pynvml

#: NVML's "all scopes" id: for NVLink fields, the total over every link.
ALL_LINKS = 0xFFFFFFFF

Kind = Literal["float", "int", "bool", "rate"]


@dataclass(frozen=True)
class FieldSpec:
    """One batched read: the landing column it fills, NVML's field id and scope, and the scale to the unit."""

    column: str
    field_id: int
    scale: float = 1.0
    kind: Kind = "float"
    scope: int | None = None

    @property
    def request(self) -> int | tuple[int, int]:
        """What ``nvmlDeviceGetFieldValues`` takes: the id, or (id, scope)."""
        return self.field_id if self.scope is None else (self.field_id, self.scope)


#: Whole-GPU fields, in request order. Units: NVML gives mW, mJ, °C, counts, bytes and KiB.
GPU_FIELDS: tuple[FieldSpec, ...] = (
    # Ampere+ (not GA100): 1-s average; GA100 and older: instantaneous (gpu-telemetry §4.2).
    FieldSpec("power_w", pynvml.NVML_FI_DEV_POWER_AVERAGE, 1e-3),
    FieldSpec("power_instant_w", pynvml.NVML_FI_DEV_POWER_INSTANT, 1e-3),
    # mJ since the driver was last loaded: it restarts on reload; the pipeline takes deltas with reset handling.
    FieldSpec("energy_counter_j", pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, 1e-3),
    FieldSpec("mem_temp_c", pynvml.NVML_FI_DEV_MEMORY_TEMP),  # HBM only; NOT_SUPPORTED on GDDR boards
    FieldSpec("power_limit_w", pynvml.NVML_FI_DEV_POWER_CURRENT_LIMIT, 1e-3),
    FieldSpec("ecc_corrected_total", pynvml.NVML_FI_DEV_ECC_SBE_AGG_TOTAL, kind="int"),
    FieldSpec("ecc_uncorrected_total", pynvml.NVML_FI_DEV_ECC_DBE_AGG_TOTAL, kind="int"),
    FieldSpec("remapped_rows_correctable", pynvml.NVML_FI_DEV_REMAPPED_COR, kind="int"),
    FieldSpec("remapped_rows_uncorrectable", pynvml.NVML_FI_DEV_REMAPPED_UNC, kind="int"),
    FieldSpec("remap_pending", pynvml.NVML_FI_DEV_REMAPPED_PENDING, kind="bool"),
    FieldSpec("remap_failed", pynvml.NVML_FI_DEV_REMAPPED_FAILURE, kind="bool"),
    # Byte counters turned into rates between samples: PCIe throughput without the 20 ms blocking getter.
    FieldSpec("pcie_tx_bytes_s", pynvml.NVML_FI_DEV_PCIE_COUNT_TX_BYTES, kind="rate"),
    FieldSpec("pcie_rx_bytes_s", pynvml.NVML_FI_DEV_PCIE_COUNT_RX_BYTES, kind="rate"),
    # NVLink data throughput counters, KiB, summed over all links.
    FieldSpec("nvlink_tx_bytes_s", pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, 1024.0, "rate", ALL_LINKS),
    FieldSpec("nvlink_rx_bytes_s", pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX, 1024.0, "rate", ALL_LINKS),
)


#: One decoded ``c_nvmlFieldValue_t``: (field id, scope id, timestamp µs, latency µs, return code, value).
#: A plain tuple: one is built per field per sample, and a named tuple costs three times as much.
Reading = tuple[int, int, int, int, int, float | int | None]


_RECORD = struct.Struct("=IIqqII8s")
_ULONG = "=Q" if ctypes.sizeof(ctypes.c_ulong) == 8 else "=I"
_VALUE: dict[int, struct.Struct] = {
    int(pynvml.NVML_VALUE_TYPE_DOUBLE): struct.Struct("=d"),
    int(pynvml.NVML_VALUE_TYPE_UNSIGNED_INT): struct.Struct("=I"),
    int(pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG): struct.Struct(_ULONG),
    int(pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG): struct.Struct("=Q"),
    int(pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG): struct.Struct("=q"),
    int(pynvml.NVML_VALUE_TYPE_SIGNED_INT): struct.Struct("=i"),
    int(pynvml.NVML_VALUE_TYPE_UNSIGNED_SHORT): struct.Struct("=H"),
}


def _layout_matches() -> bool:
    """The struct format above is the ctypes layout of this platform (else the reference path is used)."""
    fv = pynvml.c_nvmlFieldValue_t
    offsets = [getattr(fv, name).offset for name, *_ in fv._fields_]
    return ctypes.sizeof(fv) == _RECORD.size and offsets == [0, 4, 8, 16, 24, 28, 32]


FAST_LAYOUT = _layout_matches()
_UNPACK = {vtype: unpacker.unpack_from for vtype, unpacker in _VALUE.items()}
_SUCCESS = int(pynvml.NVML_SUCCESS)


def decode(values: Any) -> list[Reading]:
    """Decode NVML's field-value array: the raw bytes when it is a ctypes array, else attribute by attribute."""
    if not (FAST_LAYOUT and isinstance(values, ctypes.Array)):
        return decode_reference(values)
    unpack = _UNPACK
    return [
        (fid, scope, ts, latency, ret, unpack[vtype](raw)[0] if ret == _SUCCESS and vtype in unpack else None)
        for fid, scope, ts, latency, vtype, ret, raw in _RECORD.iter_unpack(values)
    ]


def decode_reference(values: Sequence[Any]) -> list[Reading]:
    """The same decoding through ``pynvml``'s struct attributes (the library path, slower)."""
    out: list[Reading] = []
    for fv in values:
        ret = int(fv.nvmlReturn)
        value = _union_value(int(fv.valueType), fv.value) if ret == _SUCCESS else None
        out.append((int(fv.fieldId), int(fv.scopeId), int(fv.timestamp), int(fv.latencyUsec), ret, value))
    return out


def _union_value(vtype: int, v: Any) -> float | int | None:
    if vtype == pynvml.NVML_VALUE_TYPE_DOUBLE:
        return float(v.dVal)
    if vtype == pynvml.NVML_VALUE_TYPE_UNSIGNED_INT:
        return int(v.uiVal)
    if vtype == pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG:
        return int(v.ulVal)
    if vtype == pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return int(v.ullVal)
    if vtype == pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return int(v.sllVal)
    if vtype == pynvml.NVML_VALUE_TYPE_SIGNED_INT:
        return int(v.siVal)
    if vtype == pynvml.NVML_VALUE_TYPE_UNSIGNED_SHORT:
        return int(v.usVal)
    return None


def encode(entries: Sequence[tuple[int, int, int, int, int, int, float | int | None]]) -> Any:
    """NVML's ``c_nvmlFieldValue_t`` array from (field id, scope, timestamp µs, latency µs, value type, return
    code, value) records: how a fake NVML answers, written straight into the struct bytes."""
    values = (pynvml.c_nvmlFieldValue_t * len(entries))()
    if not FAST_LAYOUT:  # pragma: no cover - only on a platform whose struct layout differs
        raise RuntimeError("c_nvmlFieldValue_t layout differs from the struct format")
    for i, (fid, scope, ts, latency, vtype, ret, value) in enumerate(entries):
        raw = _VALUE[vtype].pack(value).ljust(8, b"\0") if value is not None else bytes(8)
        _RECORD.pack_into(values, i * _RECORD.size, fid, scope, ts, latency, vtype, ret, raw)
    return values

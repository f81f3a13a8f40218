"""The hand-written fast paths agree with the libraries they replace.

- :func:`fieldvalues.decode` (struct over the raw bytes) ≡ ``pynvml``'s struct attributes, on every value type;
- :func:`frames.gpu_frame` (through Arrow) ≡ ``pl.from_dicts(rows, schema=…)``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import polars as pl
import pynvml

from collectors.gpu.nvml.fieldvalues import decode, decode_reference, encode
from collectors.gpu.nvml.frames import collector_frame, gpu_frame, health_frame
from collectors.schemas import COLLECTOR_HEALTH, GPU_HEALTH, GPU_SAMPLE

VALUE_TYPES = {
    pynvml.NVML_VALUE_TYPE_DOUBLE: ("dVal", lambda r: r.uniform(-1e12, 1e12)),
    pynvml.NVML_VALUE_TYPE_UNSIGNED_INT: ("uiVal", lambda r: r.randrange(2**32)),
    pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG: ("ulVal", lambda r: r.randrange(2**64)),
    pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: ("ullVal", lambda r: r.randrange(2**64)),
    pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: ("sllVal", lambda r: r.randrange(-(2**63), 2**63)),
    pynvml.NVML_VALUE_TYPE_SIGNED_INT: ("siVal", lambda r: r.randrange(-(2**31), 2**31)),
    pynvml.NVML_VALUE_TYPE_UNSIGNED_SHORT: ("usVal", lambda r: r.randrange(2**16)),
}


def library_built_array(seed: int, n: int) -> tuple[Any, list[tuple[int, int, Any]]]:
    """A field-value array filled through pynvml's own struct attributes, and what was put in."""
    rng = random.Random(seed)
    values = (pynvml.c_nvmlFieldValue_t * n)()
    truth = []
    for fv in values:
        vtype = rng.choice(list(VALUE_TYPES))
        member, draw = VALUE_TYPES[vtype]
        ret = rng.choice([pynvml.NVML_SUCCESS] * 4 + [pynvml.NVML_ERROR_NOT_SUPPORTED, pynvml.NVML_ERROR_GPU_IS_LOST])
        fv.fieldId = rng.randrange(1, 308)
        fv.scopeId = rng.choice([0, 3, 0xFFFFFFFF])
        fv.timestamp = rng.randrange(2**62)
        fv.latencyUsec = rng.randrange(10_000)
        fv.valueType = vtype
        fv.nvmlReturn = ret
        value = draw(rng)
        setattr(fv.value, member, value)
        truth.append((ret, vtype, value))
    return values, truth


def test_fast_decode_equals_the_library_path_on_every_value_type() -> None:
    for seed in range(20):
        values, truth = library_built_array(seed, 64)
        fast = decode(values)
        assert fast == decode_reference(values)
        for (ret, _vtype, value), reading in zip(truth, fast, strict=True):
            assert reading[4] == ret
            assert reading[5] == (value if ret == pynvml.NVML_SUCCESS else None)


def test_what_fakes_encode_reads_back_through_the_library() -> None:
    entries = [
        (pynvml.NVML_FI_DEV_POWER_AVERAGE, 0, 1_000_000, 12, pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, 0, 412_345),
        (pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, 0, 5, 7, pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG, 0, 2**40),
        (pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, 0xFFFFFFFF, 5, 7, pynvml.NVML_VALUE_TYPE_DOUBLE, 0, 2.5),
        (pynvml.NVML_FI_DEV_MEMORY_TEMP, 0, 0, 0, pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, 3, None),
    ]
    values = encode(entries)
    assert values[0].value.uiVal == 412_345
    assert values[1].value.ullVal == 2**40
    assert values[2].scopeId == 0xFFFFFFFF
    assert values[2].value.dVal == 2.5
    assert values[3].nvmlReturn == pynvml.NVML_ERROR_NOT_SUPPORTED
    assert decode(values) == [(fid, scope, ts, lat, ret, value) for fid, scope, ts, lat, _vt, ret, value in entries]


def gpu_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    ts = dt.datetime(2026, 11, 20, 23, 59, 50, tzinfo=dt.UTC)
    rows = []
    for i in range(n):
        row: dict[str, Any] = {
            "ts": ts + dt.timedelta(seconds=10 * (i // 9)),
            "interval_s": 10.0,
            "site": "tyo1",
            "node": "n1",
            "gpu_index": i % 9,
            "gpu_uuid": f"GPU-{i % 9}",
            "model": "NVIDIA H100 80GB HBM3",
            "source": "nvml",
            "producer": "nvml-agent@n1",
            "holders": [],
        }
        if i % 9 == 8:
            row.update(gpu_instance_id=3, mig_profile="3g.40gb")
        if i % 4:
            row.update(util_ratio=rng.random(), power_w=rng.uniform(60, 700), energy_counter_j=rng.uniform(0, 1e9))
            row.update(throttle_reasons=rng.choice([0, 4, 0x40]), pstate=0, remap_pending=False, xid_last=None)
        if i % 3 == 0:
            row["holders"] = [
                {"namespace": "ns", "pod": f"p{i}", "container": "c", "pod_uid": "u", "hpc_job": None, "pid": i,
                 "util_ratio": None, "mem_used_bytes": 1 << 30},
                {"namespace": None, "pod": None, "container": None, "pod_uid": None, "hpc_job": "88", "pid": i + 1,
                 "util_ratio": 0.5, "mem_used_bytes": None},
            ]  # fmt: skip
        rows.append(row)
    return rows


def test_arrow_frame_equals_polars_from_dicts() -> None:
    rows = gpu_rows(500)
    fast = gpu_frame(rows)
    assert fast.schema == GPU_SAMPLE.polars_schema
    assert fast.equals(pl.from_dicts(rows, schema=GPU_SAMPLE.polars_schema))
    assert fast.height == 500
    assert gpu_frame([]).equals(GPU_SAMPLE.empty())


def test_health_and_collector_frames_have_their_schemas() -> None:
    ts = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    health = [{"ts": ts, "site": "s", "event": "xid", "code": 79, "severity": "critical", "source": "nvml",
               "producer": "p", "gpu_uuid": "GPU-a", "gpu_instance_id": None, "node": "n", "message": "m"}]  # fmt: skip
    assert health_frame(health).equals(pl.from_dicts(health, schema=GPU_HEALTH.polars_schema))
    collector = [{"ts": ts, "site": "s", "source": "nvml", "producer": "p", "target": "n", "ok": True,
                  "duration_s": 0.01, "samples": 8, "error": None}]  # fmt: skip
    assert collector_frame(collector).equals(pl.from_dicts(collector, schema=COLLECTOR_HEALTH.polars_schema))

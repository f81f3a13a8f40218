"""Canonical landing schemas: the contract between every collector and the pipelines.

Whatever a collector reads (NVML, dcgm-exporter text, Prometheus history, TS 32.435 XML, Redfish, BMS
CSV), it lands rows in one of these shapes. Column names carry their unit (``power_w``, ``energy_counter_j``,
``mem_used_bytes``, ``util_ratio``), timestamps are UTC, and every row names its site and its producer so
that any number in the warehouse can be traced to the collector that saw it.

Adding a column is a change here and nowhere else: older landed files simply lack it and read back as null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from collectors.errors import InputError

UTC_TS = pl.Datetime("us", "UTC")

#: A Polars dtype as written in a schema: an instance (``pl.Datetime("us")``) or a class (``pl.String``).
DType = pl.DataType | type[pl.DataType]

#: Who held a GPU (or MIG instance) at a sample: Kubernetes pod labels, a Slurm/HPC job, or a process.
#: ``util_ratio``/``mem_used_bytes`` are the holder's own share where the source knows it (time-slicing).
HOLDER = pl.Struct(
    {
        "namespace": pl.String,
        "pod": pl.String,
        "container": pl.String,
        "pod_uid": pl.String,
        "hpc_job": pl.String,
        "pid": pl.Int64,
        "util_ratio": pl.Float64,
        "mem_used_bytes": pl.Int64,
    }
)


@dataclass(frozen=True)
class LandingSchema:
    """Columns (in order), which of them a producer must fill, and the row key."""

    source: str
    columns: Mapping[str, DType]
    required: frozenset[str]
    key: tuple[str, ...]
    description: str
    time_column: str = "ts"
    docs: Mapping[str, str] = field(default_factory=dict)

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema(dict(self.columns))

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)


GPU_SAMPLE = LandingSchema(
    source="gpu",
    description="One row per GPU (or MIG instance) per sample time, from NVML, dcgm-exporter or Prometheus.",
    columns={
        "ts": UTC_TS,
        "interval_s": pl.Float64,
        "site": pl.String,
        "node": pl.String,
        "gpu_index": pl.Int32,
        "gpu_uuid": pl.String,
        "gpu_instance_id": pl.Int32,
        "mig_profile": pl.String,
        "model": pl.String,
        "pci_bus_id": pl.String,
        "driver_version": pl.String,
        "util_ratio": pl.Float64,
        "mem_util_ratio": pl.Float64,
        "enc_util_ratio": pl.Float64,
        "dec_util_ratio": pl.Float64,
        "mem_used_bytes": pl.Int64,
        "mem_total_bytes": pl.Int64,
        "power_w": pl.Float64,
        "power_instant_w": pl.Float64,
        "energy_counter_j": pl.Float64,
        "temp_c": pl.Float64,
        "mem_temp_c": pl.Float64,
        "sm_clock_hz": pl.Float64,
        "mem_clock_hz": pl.Float64,
        "throttle_reasons": pl.Int64,
        "pstate": pl.Int32,
        "power_limit_w": pl.Float64,
        "ecc_corrected_total": pl.Int64,
        "ecc_uncorrected_total": pl.Int64,
        "remapped_rows_correctable": pl.Int64,
        "remapped_rows_uncorrectable": pl.Int64,
        "remap_pending": pl.Boolean,
        "remap_failed": pl.Boolean,
        "pcie_tx_bytes_s": pl.Float64,
        "pcie_rx_bytes_s": pl.Float64,
        "pcie_replay_total": pl.Int64,
        "nvlink_bytes_s": pl.Float64,
        "nvlink_tx_bytes_s": pl.Float64,
        "nvlink_rx_bytes_s": pl.Float64,
        "gr_engine_active_ratio": pl.Float64,
        "sm_active_ratio": pl.Float64,
        "tensor_active_ratio": pl.Float64,
        "dram_active_ratio": pl.Float64,
        "xid_last": pl.Int64,
        "vgpu_license_status": pl.Int32,
        "holders": pl.List(HOLDER),
        "source": pl.String,
        "producer": pl.String,
    },
    required=frozenset({"ts", "interval_s", "site", "node", "gpu_uuid", "source", "producer"}),
    key=("site", "gpu_uuid", "gpu_instance_id", "ts"),
    docs={
        "interval_s": "nominal sampling interval of the producer; a row stands for [ts, ts + interval_s)",
        "energy_counter_j": "cumulative energy counter as the device reports it (restarts on driver reload)",
        "power_w": "average board power over the device's own window (1 s on Ampere+)",
        "util_ratio": "GPU busy ratio 0..1 (NVML utilization.gpu / dcgm GPU_UTIL)",
        "throttle_reasons": "NVML clocks-event reasons bitmask",
        "nvlink_bytes_s": "NVLink throughput, all links and both directions (dcgm NVLINK_BANDWIDTH_TOTAL)",
        "pcie_replay_total": "PCIe replay (retry) counter",
        "vgpu_license_status": "vGPU guest licence status as DCGM reports it (vGPU guests only)",
        "holders": "who held the device at ts: pod labels, HPC job or process; empty = nobody",
    },
)

GPU_HEALTH = LandingSchema(
    source="gpu_health",
    description="GPU health events: Xid errors, lost GPUs, ECC events, throttling incidents.",
    columns={
        "ts": UTC_TS,
        "site": pl.String,
        "node": pl.String,
        "gpu_uuid": pl.String,
        "gpu_instance_id": pl.Int32,
        "event": pl.String,
        "code": pl.Int64,
        "severity": pl.String,
        "message": pl.String,
        "source": pl.String,
        "producer": pl.String,
    },
    required=frozenset({"ts", "site", "event", "severity", "source", "producer"}),
    key=("site", "node", "gpu_uuid", "ts", "event", "code"),
)

COLLECTOR_HEALTH = LandingSchema(
    source="collector_health",
    description="One row per collection attempt per target: did it answer, how long it took, what failed.",
    columns={
        "ts": UTC_TS,
        "site": pl.String,
        "source": pl.String,
        "producer": pl.String,
        "target": pl.String,
        "ok": pl.Boolean,
        "duration_s": pl.Float64,
        "samples": pl.Int64,
        "error": pl.String,
    },
    required=frozenset({"ts", "site", "source", "producer", "target", "ok"}),
    key=("site", "producer", "target", "ts"),
)

RAN_PM = LandingSchema(
    source="ran_pm",
    description="RAN performance counters in one long shape, whatever the file or feed they came from.",
    time_column="period_start",
    columns={
        "period_start": UTC_TS,
        "period_end": UTC_TS,
        "granularity_s": pl.Int32,
        "site": pl.String,
        "managed_element": pl.String,
        "measured_object": pl.String,
        "cell": pl.String,
        "counter": pl.String,
        "sub_counter": pl.String,
        "vector_index": pl.Int32,
        "value": pl.Float64,
        "suspect": pl.Boolean,
        "unit": pl.String,
        "source_format": pl.String,
        "source_file": pl.String,
        "file_sha256": pl.String,
        "producer": pl.String,
    },
    required=frozenset({"period_start", "period_end", "granularity_s", "site", "counter", "source_format", "producer"}),
    key=(
        "site",
        "managed_element",
        "measured_object",
        "counter",
        "sub_counter",
        "vector_index",
        "period_end",
    ),
    docs={
        "cell": "cell id (e.g. NRCellDU=1 under its gNB) when the measured object is a cell, else null",
        "value": "value converted to the canonical unit in `unit`; null for NIL or empty results",
        "sub_counter": "sub-counter suffix (QoS, S-NSSAI, PLMN…) when the source splits a counter",
        "vector_index": "position in a comma-separated vector result (0-based), else null",
    },
)

FACILITY_READING = LandingSchema(
    source="facility",
    description="Facility meter readings: cumulative energy registers and/or power, per meter.",
    columns={
        "ts": UTC_TS,
        "site": pl.String,
        "meter_id": pl.String,
        "energy_kwh": pl.Float64,
        "power_w": pl.Float64,
        "register_reset_at": UTC_TS,
        "source": pl.String,
        "producer": pl.String,
        "source_file": pl.String,
    },
    required=frozenset({"ts", "site", "meter_id", "source", "producer"}),
    key=("site", "meter_id", "ts"),
    docs={
        "energy_kwh": "cumulative register as the meter reports it (may reset or wrap)",
        "register_reset_at": "when the meter says its register was last reset (Redfish SensorResetTime)",
    },
)

SCHEMAS: dict[str, LandingSchema] = {
    s.source: s for s in (GPU_SAMPLE, GPU_HEALTH, COLLECTOR_HEALTH, RAN_PM, FACILITY_READING)
}


def schema_for(source: str) -> LandingSchema:
    try:
        return SCHEMAS[source]
    except KeyError:
        raise InputError(f"unknown landing source {source!r}; known: {', '.join(sorted(SCHEMAS))}") from None


def conform(frame: pl.DataFrame, schema: LandingSchema, *, origin: str | None = None) -> pl.DataFrame:
    """Return ``frame`` with exactly the schema's columns, in order and types; absent optional columns are null.

    A missing required column, a required column with nulls, or a value that cannot be cast raises an
    :class:`InputError` naming the column, so a collector never lands a half-valid batch.
    """
    unknown = [c for c in frame.columns if c not in schema.columns]
    if unknown:
        raise InputError(f"columns not in the {schema.source} schema: {', '.join(unknown)}", file=origin)
    missing = sorted(schema.required - set(frame.columns))
    if missing:
        raise InputError(f"required columns missing: {', '.join(missing)}", file=origin)
    exprs: list[pl.Expr] = []
    for name, dtype in schema.columns.items():
        if name in frame.columns:
            exprs.append(_cast(frame, name, dtype, origin))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    out = frame.select(exprs)
    for name in sorted(schema.required):
        nulls = out.get_column(name).null_count()
        if nulls:
            raise InputError(f"{nulls} null value(s) in a required column", file=origin, field=name)
    return out


def _cast(frame: pl.DataFrame, name: str, dtype: DType, origin: str | None) -> pl.Expr:
    current = frame.schema[name]
    if current == dtype:
        return pl.col(name)
    if isinstance(dtype, pl.Datetime) and isinstance(current, pl.Datetime):
        # Naive timestamps are UTC by contract; aware ones are converted.
        col = pl.col(name).dt.cast_time_unit("us")
        if current.time_zone is None:
            return col.dt.replace_time_zone("UTC").alias(name)
        return col.dt.convert_time_zone("UTC").alias(name)
    try:
        frame.select(pl.col(name).cast(dtype, strict=True))
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise InputError(f"cannot be read as {dtype}: {exc}", file=origin, field=name) from exc
    return pl.col(name).cast(dtype).alias(name)

"""GPU telemetry tables: clean samples, hourly facts per GPU, last value per GPU, the GPU inventory."""

from __future__ import annotations

from pipelines.tables.base import Column, Table, cols

HOLDERS_TYPE = (
    "STRUCT(namespace VARCHAR, pod VARCHAR, container VARCHAR, pod_uid VARCHAR, hpc_job VARCHAR, "
    "pid BIGINT, util_ratio DOUBLE, mem_used_bytes BIGINT)[]"
)

GPU_SAMPLE = Table(
    name="gpu_sample",
    description=(
        "Clean GPU samples (UTC): one row per GPU or MIG instance per sample, de-duplicated across "
        "producers, with the energy of the interval [ts, ts + interval_s) derived from the energy counter "
        "(or from power where the counter reset or is missing)."
    ),
    time_column="ts",
    grain="hour",
    serving=False,
    key=("site", "gpu_uuid", "gpu_instance_id", "ts"),
    columns=(
        *cols(
            ("ts", "TIMESTAMP", "sample time, UTC"),
            ("interval_s", "DOUBLE", "seconds this sample stands for"),
            ("site", "VARCHAR"),
            ("node", "VARCHAR", "host name"),
            ("gpu_index", "INTEGER"),
            ("gpu_uuid", "VARCHAR", "physical GPU UUID (parent for MIG rows)"),
            ("gpu_instance_id", "INTEGER", "MIG GPU instance id; NULL for the whole GPU"),
            ("mig_profile", "VARCHAR"),
            ("model", "VARCHAR"),
            ("util_ratio", "DOUBLE", "GPU busy ratio 0..1"),
            ("mem_util_ratio", "DOUBLE"),
            ("mem_used_bytes", "BIGINT"),
            ("mem_total_bytes", "BIGINT"),
            ("power_w", "DOUBLE", "average board power"),
            ("energy_counter_j", "DOUBLE", "device energy counter as reported"),
            ("energy_j", "DOUBLE", "energy of this sample's interval"),
            ("energy_method", "VARCHAR", "counter | power | none"),
            ("temp_c", "DOUBLE"),
            ("mem_temp_c", "DOUBLE"),
            ("sm_clock_hz", "DOUBLE"),
            ("throttle_reasons", "BIGINT", "NVML clocks-event reasons bitmask"),
            ("power_limit_w", "DOUBLE"),
            ("ecc_uncorrected_total", "BIGINT"),
            ("xid_last", "BIGINT"),
            ("source", "VARCHAR", "nvml | dcgm | prometheus"),
            ("producer", "VARCHAR"),
        ),
        Column("holders", HOLDERS_TYPE, "who held the device: pod labels, HPC job or process"),
    ),
)

GPU_HOURLY = Table(
    name="gpu_hourly",
    description="Hourly facts per physical GPU: utilisation, power, energy, temperature, memory.",
    time_column="hour",
    grain="hour",
    key=("site", "gpu_uuid", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP", "start of the UTC hour"),
        ("site", "VARCHAR"),
        ("node", "VARCHAR"),
        ("gpu_uuid", "VARCHAR"),
        ("gpu_index", "INTEGER"),
        ("model", "VARCHAR"),
        ("samples", "BIGINT", "whole-GPU samples in the hour"),
        ("sample_s", "DOUBLE", "seconds covered by samples (3600 = complete)"),
        ("util_mean_ratio", "DOUBLE", "time-weighted mean utilisation 0..1"),
        ("util_max_ratio", "DOUBLE"),
        ("busy_s", "DOUBLE", "sum of utilisation × interval: GPU-seconds of work"),
        ("power_mean_w", "DOUBLE"),
        ("power_max_w", "DOUBLE"),
        ("energy_kwh", "DOUBLE", "GPU energy in the hour"),
        ("temp_max_c", "DOUBLE"),
        ("mem_used_max_bytes", "BIGINT"),
        ("mem_total_bytes", "BIGINT"),
        ("throttled_s", "DOUBLE", "seconds with a power or thermal clocks-event reason active"),
    ),
)

GPU_LAST = Table(
    name="gpu_last",
    description="The latest sample of every GPU (for 'now' panels and last-value questions).",
    key=("site", "gpu_uuid"),
    columns=cols(
        ("site", "VARCHAR"),
        ("node", "VARCHAR"),
        ("gpu_uuid", "VARCHAR"),
        ("gpu_index", "INTEGER"),
        ("model", "VARCHAR"),
        ("ts", "TIMESTAMP"),
        ("util_ratio", "DOUBLE"),
        ("power_w", "DOUBLE"),
        ("temp_c", "DOUBLE"),
        ("mem_used_bytes", "BIGINT"),
        ("mem_total_bytes", "BIGINT"),
        ("holder", "VARCHAR", "namespace/pod or HPC job holding it, NULL if idle"),
    ),
)

DIM_GPU = Table(
    name="dim_gpu",
    description="GPU inventory as seen in telemetry: where each GPU is and when it was first and last seen.",
    key=("site", "gpu_uuid"),
    columns=cols(
        ("site", "VARCHAR"),
        ("node", "VARCHAR"),
        ("gpu_uuid", "VARCHAR"),
        ("gpu_index", "INTEGER"),
        ("model", "VARCHAR"),
        ("first_seen", "TIMESTAMP"),
        ("last_seen", "TIMESTAMP"),
    ),
)

TABLES = (GPU_SAMPLE, GPU_HOURLY, GPU_LAST, DIM_GPU)

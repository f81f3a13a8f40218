"""GPU telemetry tables: clean samples, hourly and daily facts per GPU and node, health events, last values,
the GPU inventory."""

from __future__ import annotations

from pipelines.tables.base import Table, cols

GPU_SAMPLE = Table(
    name="gpu_sample",
    description=(
        "Clean GPU samples (UTC): one row per GPU or MIG instance per sample, de-duplicated across "
        "producers, with the energy of the interval [ts, ts + interval_s) derived from the energy counter "
        "(or from power where the counter reset or is missing). Who held the GPU is in gpu_sample_holder."
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
            ("remap_pending", "BOOLEAN", "a row remapping waits for the next GPU reset"),
            ("remap_failed", "BOOLEAN", "a row remapping failed (the GPU needs service)"),
            ("gr_engine_active_ratio", "DOUBLE", "graphics/compute engine activity 0..1 (DCGM; MIG instances)"),
            ("xid_last", "BIGINT"),
            ("source", "VARCHAR", "nvml | dcgm | prometheus"),
            ("producer", "VARCHAR"),
            ("sample_seq", "INTEGER", "row number within the hour; gpu_sample_holder rows point at it"),
            ("holder_count", "INTEGER", "holders (pods, jobs, processes) at the sample; 0 = nobody"),
            ("holder_util_sum", "DOUBLE", "sum of the holders' own utilisation when every one is known"),
        ),
    ),
)

GPU_SAMPLE_HOLDER = Table(
    name="gpu_sample_holder",
    description=(
        "Who held each GPU (or MIG instance) at each sample: one row per sample and holder (pod, HPC job or "
        "process), as the collector saw it. A sample without a row here was held by nobody."
    ),
    time_column="ts",
    grain="hour",
    serving=False,
    key=("site", "gpu_uuid", "gpu_instance_id", "ts", "position"),
    columns=cols(
        ("ts", "TIMESTAMP"),
        ("sample_seq", "INTEGER", "the gpu_sample row of the same hour this holder belongs to"),
        ("site", "VARCHAR"),
        ("gpu_uuid", "VARCHAR"),
        ("gpu_instance_id", "INTEGER", "MIG GPU instance id; NULL for the whole GPU"),
        ("position", "INTEGER", "order of the holder in the collector's list (0 first)"),
        ("namespace", "VARCHAR", "Kubernetes namespace"),
        ("pod", "VARCHAR"),
        ("container", "VARCHAR"),
        ("pod_uid", "VARCHAR"),
        ("hpc_job", "VARCHAR", "Slurm job id or dcgm-exporter hpc_job label"),
        ("pid", "BIGINT"),
        ("util_ratio", "DOUBLE", "the holder's own utilisation where the source knows it (time-slicing)"),
        ("mem_used_bytes", "BIGINT"),
    ),
)

#: Seconds with a clocks-event reason active, by reason (NVML ``nvmlClocksEventReason*`` bits).
THROTTLE_COLUMNS = cols(
    ("throttle_sw_power_s", "DOUBLE", "seconds held at the software power cap (0x4)"),
    ("throttle_hw_slowdown_s", "DOUBLE", "seconds in hardware slowdown (0x8: heat or power brake)"),
    ("throttle_sw_thermal_s", "DOUBLE", "seconds in software thermal slowdown (0x20)"),
    ("throttle_hw_thermal_s", "DOUBLE", "seconds in hardware thermal slowdown (0x40)"),
    ("throttle_power_brake_s", "DOUBLE", "seconds under the external power brake (0x80)"),
)

UTIL_HIST_DOC = (
    "101 sample counts: element k+1 counts samples at k % utilisation (rounded); sums across GPUs and hours give "
    "exact percentiles"
)

GPU_HOURLY = Table(
    name="gpu_hourly",
    description=(
        "Hourly facts per physical GPU: utilisation (time-weighted mean, sum, max and a 101-bin histogram for "
        "exact percentiles), power, energy, temperature, memory, throttling by reason, Xid events."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "gpu_uuid", "hour"),
    columns=(
        *cols(
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
            ("util_samples", "BIGINT", "samples with a utilisation reading"),
            ("util_sum_ratio", "DOUBLE", "sum of utilisation readings (mean = util_sum_ratio / util_samples)"),
            ("util_hist", "INTEGER[]", UTIL_HIST_DOC),
            ("busy_s", "DOUBLE", "sum of utilisation × interval: GPU-seconds of work"),
            ("power_mean_w", "DOUBLE"),
            ("power_max_w", "DOUBLE"),
            ("energy_kwh", "DOUBLE", "GPU energy in the hour"),
            ("energy_estimated_s", "DOUBLE", "seconds whose energy came from power × time (counter reset or missing)"),
            ("temp_max_c", "DOUBLE"),
            ("mem_used_max_bytes", "BIGINT"),
            ("mem_total_bytes", "BIGINT"),
            ("throttled_s", "DOUBLE", "seconds with a power or thermal clocks-event reason active"),
        ),
        *THROTTLE_COLUMNS,
        *cols(
            ("xid_events", "BIGINT", "Xid errors reported in the hour (gpu_health_events)"),
            ("mig_instances", "BIGINT", "MIG instances seen in the hour (0 = not in MIG mode)"),
        ),
    ),
)

GPU_DAILY = Table(
    name="gpu_daily",
    description="Daily facts per physical GPU, summed from gpu_hourly (the histogram too, so percentiles stay exact).",
    time_column="day",
    grain="day",
    key=("site", "gpu_uuid", "day"),
    columns=(
        *cols(
            ("day", "DATE", "UTC day"),
            ("site", "VARCHAR"),
            ("node", "VARCHAR"),
            ("gpu_uuid", "VARCHAR"),
            ("gpu_index", "INTEGER"),
            ("model", "VARCHAR"),
            ("hours", "BIGINT", "hours with samples"),
            ("samples", "BIGINT"),
            ("sample_s", "DOUBLE", "seconds covered by samples (86400 = complete)"),
            ("util_mean_ratio", "DOUBLE", "time-weighted mean utilisation 0..1"),
            ("util_max_ratio", "DOUBLE"),
            ("util_samples", "BIGINT"),
            ("util_sum_ratio", "DOUBLE"),
            ("util_hist", "INTEGER[]", UTIL_HIST_DOC),
            ("util_p50_ratio", "DOUBLE", "median utilisation over the day's samples (exact, from the histogram)"),
            ("util_p95_ratio", "DOUBLE", "95th percentile utilisation (exact, nearest rank)"),
            ("util_p99_ratio", "DOUBLE"),
            ("busy_s", "DOUBLE"),
            ("power_mean_w", "DOUBLE"),
            ("power_max_w", "DOUBLE"),
            ("energy_kwh", "DOUBLE"),
            ("temp_max_c", "DOUBLE"),
            ("mem_used_max_bytes", "BIGINT"),
            ("throttled_s", "DOUBLE"),
        ),
        *THROTTLE_COLUMNS,
        *cols(("xid_events", "BIGINT")),
    ),
)

NODE_DAILY = Table(
    name="node_daily",
    description=(
        "Daily utilisation per node (host): its GPUs' samples pooled, with exact percentiles from the summed "
        "histograms, energy and peaks. Answers 'p95 utilisation per node per day' without touching samples."
    ),
    time_column="day",
    grain="day",
    key=("site", "node", "day"),
    columns=cols(
        ("day", "DATE"),
        ("site", "VARCHAR"),
        ("node", "VARCHAR"),
        ("gpus", "BIGINT", "GPUs that reported on the day"),
        ("gpu_hours", "DOUBLE", "seconds covered by samples / 3600, all GPUs"),
        ("util_mean_ratio", "DOUBLE", "time-weighted mean utilisation of the node's GPUs"),
        ("util_p50_ratio", "DOUBLE"),
        ("util_p95_ratio", "DOUBLE"),
        ("util_p99_ratio", "DOUBLE"),
        ("util_hist", "INTEGER[]", UTIL_HIST_DOC),
        ("energy_kwh", "DOUBLE"),
        ("power_max_w", "DOUBLE", "highest single-GPU power"),
        ("temp_max_c", "DOUBLE"),
        ("throttled_s", "DOUBLE"),
        ("xid_events", "BIGINT"),
    ),
)

GPU_HEALTH_EVENTS = Table(
    name="gpu_health_events",
    description=(
        "GPU health events: what the collectors reported (Xid errors, lost GPUs, reset required…) and what the "
        "samples show (uncorrectable ECC errors, row remapping pending or failed, telemetry gaps)."
    ),
    time_column="ts",
    grain="hour",
    key=("site", "node", "gpu_uuid", "gpu_instance_id", "ts", "event", "code"),
    columns=cols(
        ("ts", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("node", "VARCHAR"),
        ("gpu_uuid", "VARCHAR"),
        ("gpu_instance_id", "INTEGER"),
        ("event", "VARCHAR", "xid | gpu_lost | reset_required | ecc_uncorrected | remap_pending | remap_failed | …"),
        ("code", "BIGINT", "Xid number, NVML error code, new ECC errors, or gap seconds"),
        ("severity", "VARCHAR", "critical | warning | info"),
        ("message", "VARCHAR"),
        ("origin", "VARCHAR", "reported (by a collector) | derived (from the samples)"),
        ("source", "VARCHAR"),
        ("producer", "VARCHAR"),
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

TABLES = (GPU_SAMPLE, GPU_SAMPLE_HOLDER, GPU_HOURLY, GPU_DAILY, NODE_DAILY, GPU_HEALTH_EVENTS, GPU_LAST, DIM_GPU)

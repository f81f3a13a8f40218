"""Data-quality tables: is every GPU, cell and meter reporting, did files arrive late or fail to parse, and did
the collectors reach their targets."""

from __future__ import annotations

from pipelines.tables.base import Table, cols

DATA_QUALITY = Table(
    name="data_quality",
    description=(
        "Per site, source and hour: how many GPUs, cells or meters were expected and how many reported, how much "
        "of the hour their data covers, and how many landed files came late or were quarantined. Expected = seen "
        "in the 24 hours before or during the hour (meters: also every meter in meters.yaml)."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "source", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR", "'unknown' for quarantined files whose site could not be told"),
        ("source", "VARCHAR", "gpu | ran_pm | facility"),
        ("unit", "VARCHAR", "what is counted: gpus | cells | meters"),
        ("expected", "BIGINT"),
        ("reporting", "BIGINT", "reported at least once in the hour"),
        ("missing", "BIGINT", "expected but silent"),
        ("coverage_ratio", "DOUBLE", "reporting / expected"),
        ("time_coverage_ratio", "DOUBLE", "share of expected × 3600 s covered by data (GPU samples, PM periods)"),
        ("records", "BIGINT", "rows in the warehouse for the hour"),
        ("files", "BIGINT", "landed files for the hour"),
        ("late_files", "BIGINT", "landed files written more than the schedule's lag after the hour ended"),
        ("max_delay_s", "DOUBLE", "latest file: seconds after the hour ended"),
        ("quarantined_files", "BIGINT", "files of this source quarantined during the hour"),
    ),
)

QUARANTINED_FILE = Table(
    name="quarantined_file",
    description=(
        "One row per inbox file (RAN PM, meter CSV) that could not be read and sits in quarantine/, by the hour it "
        "arrived: what was wrong (file, line, field, reason) and where it lies, so an operator can fix and re-drop "
        "it. data_quality.quarantined_files counts these rows per site, source and hour."
    ),
    time_column="hour",
    grain="hour",
    key=("kind", "quarantined_as"),
    columns=cols(
        ("hour", "TIMESTAMP", "hour the file arrived (else was quarantined), UTC"),
        ("site", "VARCHAR", "'unknown' when the file's site could not be told"),
        ("source", "VARCHAR", "ran_pm | facility: the data_quality source it counts for"),
        ("kind", "VARCHAR", "inbox kind: ran_pm | meter_csv"),
        ("file", "VARCHAR", "the file's name as it arrived"),
        ("line", "BIGINT", "line of the first problem, when known"),
        ("field", "VARCHAR", "field or element of the first problem, when known"),
        ("reason", "VARCHAR", "what was wrong, as the collector said it"),
        ("arrived_at", "TIMESTAMP", "when the file arrived in the inbox (its modification time), UTC"),
        ("quarantined_at", "TIMESTAMP", "when the sweep moved it to quarantine, UTC"),
        ("sha256", "VARCHAR", "content hash: the same bytes dropped again are the same file"),
        ("quarantined_as", "VARCHAR", "path under the data root's quarantine/ directory"),
    ),
)

COLLECTOR_HEALTH_HOURLY = Table(
    name="collector_health_hourly",
    description=(
        "Per hour, site, source, producer and target (a node, an exporter URL, a Redfish service): how many "
        "collection attempts the collectors made, how many failed and why (the latest error), how long they took "
        "and how many samples they returned, from the landed collector_health rows. A target with failures is one "
        "whose data is missing or partial for a reason the collector could see."
    ),
    time_column="hour",
    grain="hour",
    key=("site", "source", "producer", "target", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("source", "VARCHAR", "the collector's kind: nvml | dcgm | prometheus | redfish …"),
        ("producer", "VARCHAR", "the collector instance that made the attempts (e.g. nvml-agent@node)"),
        ("target", "VARCHAR", "what it collected from: node, exporter URL, service, or a self-metric target"),
        ("attempts", "BIGINT", "collection attempts in the hour"),
        ("failures", "BIGINT", "attempts that did not succeed (ok = false)"),
        ("ok_ratio", "DOUBLE", "(attempts - failures) / attempts"),
        ("samples", "BIGINT", "samples (rows) the attempts returned, summed"),
        ("duration_mean_s", "DOUBLE", "mean seconds an attempt took (attempts that report a duration)"),
        ("duration_max_s", "DOUBLE", "longest attempt, seconds"),
        ("last_ok_at", "TIMESTAMP", "latest successful attempt in the hour, UTC; NULL when none succeeded"),
        ("last_error", "VARCHAR", "error of the latest failed attempt in the hour; NULL when none failed"),
        ("last_attempt_at", "TIMESTAMP", "latest attempt in the hour, UTC"),
    ),
)

TABLES = (DATA_QUALITY, QUARANTINED_FILE, COLLECTOR_HEALTH_HOURLY)

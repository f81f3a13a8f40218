"""File-drop automation: sensors that sweep the inboxes, and re-materialise the hours a drop touched.

1. ``<kind>_inbox_sensor`` looks at ``inbox/<kind>/`` every minute; when files are waiting (older than a
   few seconds, so half-copied files are left alone) it launches the inbox asset, which parses, lands,
   archives or quarantines them.
2. ``<kind>_touched_hours_sensor`` watches that asset's materialisations and requests the hourly partitions
   listed in their ``touched_hours`` metadata — so a file that arrives days late re-computes exactly the
   hours it carries, without a manual backfill.
"""

import datetime as dt
import hashlib
from typing import Any

import dagster as dg

from collectors.inbox import Inbox, IngestReport, quarantined
from pipelines.partitions import HOURLY
from pipelines.resources import DataRootResource

MIN_FILE_AGE_S = 10.0
HOURLY_STEP = dt.timedelta(hours=1)


def ingest_metadata(report: IngestReport, *, spill: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Metadata of an inbox sweep, shown in the UI: counts, quarantined files with reasons, touched hours.

    ``spill`` widens the touched hours: (-1, 0) for meter readings (an hour's last interval ends at the next
    hour's first reading), (0, 1) for PM periods that can run past the hour they start in.
    """
    hours = sorted({t + k * HOURLY_STEP for t in report.touched_hours for k in spill})
    keys = [HOURLY.get_partition_key_for_timestamp(h.timestamp()) for h in hours]
    quarantine = "\n".join(f"| {name} | {reason.replace('|', '/')} |" for name, reason in report.quarantined.items())
    return {
        "files_read": len(report.files_ok),
        "files_quarantined": len(report.quarantined),
        "dagster/row_count": report.records,
        "touched_hours": dg.JsonMetadataValue(keys),
        "quarantined": dg.MarkdownMetadataValue(
            "| file | reason |\n|---|---|\n" + quarantine if quarantine else "none"
        ),
        "problems": dg.MarkdownMetadataValue("\n".join(f"- {p}" for p in report.problems[:50]) or "none"),
    }


def inbox_sensor(kind: str, asset: str) -> dg.SensorDefinition:
    """Launch the inbox asset when files are waiting in ``inbox/<kind>/``."""

    @dg.sensor(
        name=f"{kind}_inbox_sensor",
        asset_selection=[asset],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Sweeps inbox/{kind}/ when files are waiting.",
    )
    def _sensor(context: dg.SensorEvaluationContext, site_root: DataRootResource) -> dg.SensorResult:
        pending = Inbox(site_root.data_root, kind).pending(min_age_s=MIN_FILE_AGE_S)
        if not pending:
            return dg.SensorResult(skip_reason=dg.SkipReason(f"inbox/{kind}/ is empty"))
        digest = hashlib.sha256("".join(sorted(p.sha256 for p in pending)).encode()).hexdigest()[:16]
        context.log.info(f"{len(pending)} file(s) waiting in inbox/{kind}/")
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"{kind}-{digest}")])

    return _sensor


def touched_hours_sensor(asset: str, job_name: str) -> dg.SensorDefinition:
    """Request every hourly partition an inbox sweep touched (late files included)."""

    @dg.asset_sensor(
        asset_key=dg.AssetKey(asset),
        job_name=job_name,
        name=f"{asset}_touched_hours_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Re-materialises the hours whose data {asset} just landed.",
    )
    def _sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry) -> list[dg.RunRequest]:
        materialization = asset_event.asset_materialization
        if materialization is None:
            return []
        touched = materialization.metadata.get("touched_hours")
        keys = touched.value if isinstance(touched, dg.JsonMetadataValue) else []
        if not isinstance(keys, list):
            return []
        return [
            dg.RunRequest(
                run_key=f"{asset_event.run_id}-{key}", partition_key=str(key), tags={"aigrid/reason": "inbox"}
            )
            for key in keys
        ]

    return _sensor


#: Hourly assets downstream of each inbox's first hourly asset: what a file drop can change.
meter_hours = dg.define_asset_job(
    "meter_inbox_hours",
    selection=dg.AssetSelection.assets("meter_reading").downstream() & dg.AssetSelection.tag("cadence", "hourly"),
    description="Re-computes the hours a meter CSV drop touched (readings, meter energy, PUE, tenant uplift).",
)

ran_hours = dg.define_asset_job(
    "ran_inbox_hours",
    selection=dg.AssetSelection.assets("ran_pm_record").downstream() & dg.AssetSelection.tag("cadence", "hourly"),
    description="Re-computes the hours a PM file drop touched (PM records, cell and gNB KPIs, AI-RAN share).",
)

JOBS = [meter_hours, ran_hours]
SENSORS = [
    inbox_sensor("meter_csv", "meter_csv_inbox"),
    touched_hours_sensor("meter_csv_inbox", "meter_inbox_hours"),
    inbox_sensor("ran_pm", "ran_pm_inbox"),
    touched_hours_sensor("ran_pm_inbox", "ran_inbox_hours"),
]


def quarantine_check(kind: str, asset: str) -> dg.AssetChecksDefinition:
    """Warn while files of ``kind`` sit in quarantine, listing each with its reason (clear them once fixed)."""

    @dg.asset_check(
        asset=asset,
        name=f"{kind}_quarantine_empty",
        description=f"Files in quarantine/{kind}/ could not be read; each has a .reason.json beside it.",
    )
    def _check(site_root: DataRootResource) -> dg.AssetCheckResult:
        reasons = quarantined(site_root.data_root, kind)
        table = "\n".join(f"| {r.get('file')} | {str(r.get('reason', '')).replace('|', '/')} |" for r in reasons[:100])
        return dg.AssetCheckResult(
            passed=not reasons,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "quarantined_files": len(reasons),
                "files": dg.MarkdownMetadataValue("| file | reason |\n|---|---|\n" + table if reasons else "none"),
            },
        )

    return _check

"""Jobs, schedules and sensors: when aigrid runs without anyone pressing a button.

- ``hourly_facts`` runs every hourly-partitioned asset for the hour that just ended, at HH:20 (collectors
  flush and file drops arrive in the minutes after an hour; the data-quality mart calls a file written later
  than that *late*), and again at HH:50 for the hour before that, so files that arrive late are picked up
  without a manual backfill.
- ``daily_marts`` runs the daily partitions at 01:30 UTC for the day before. Daily assets also re-run on their
  own when a late hourly re-run changed one of their days (``DAILY_AUTOMATION``).
- Unpartitioned downstream assets (monthly usage, last values, inventories, the serving file) are kept fresh by
  the automation sensor: they re-run when anything upstream changed (``AutomationCondition.eager``).
- Freshness checks per partition: an hourly asset's latest hour must be materialised by HH:45, a daily asset's
  latest day by 03:00 UTC; a sensor evaluates them (WARN when late).
- Backfills: every writing asset has ``BackfillPolicy.single_run()``, so a backfill of many partitions is one
  run that loops over the hours inside one warehouse session.
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from pipelines.partitions import HOURLY

HOURLY_ASSETS = dg.AssetSelection.tag("cadence", "hourly")
DAILY_ASSETS = dg.AssetSelection.tag("cadence", "daily")
SCHEDULE_MINUTE = 20

#: Daily rollups follow late hourly re-runs of any day, not only the latest one.
DAILY_AUTOMATION = dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())

hourly_facts = dg.define_asset_job(
    "hourly_facts",
    selection=HOURLY_ASSETS,
    description="Every hourly asset for one UTC hour: clean facts, health events, rollups, tenancy, AI-RAN split, "
    "data quality.",
)
daily_marts = dg.define_asset_job(
    "daily_marts",
    selection=DAILY_ASSETS,
    description="Every daily asset for one UTC day: GPU and node days, daily tenant usage, daily PUE.",
)

hourly_facts_schedule = dg.build_schedule_from_partitioned_job(
    hourly_facts,
    minute_of_hour=SCHEDULE_MINUTE,
    name="hourly_facts_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
daily_marts_schedule = dg.build_schedule_from_partitioned_job(
    daily_marts,
    hour_of_day=1,
    minute_of_hour=30,
    name="daily_marts_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.schedule(
    job=hourly_facts,
    cron_schedule="50 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Re-run the hour before last, for data that arrived late (agents that reconnected, late PM files).",
)
def hourly_facts_late_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return late_run_request(context.scheduled_execution_time)


def late_run_request(tick: dt.datetime) -> dg.RunRequest:
    """The run the late-data schedule asks for at ``tick``: the hour that ended more than an hour ago."""
    hour = tick.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    key = HOURLY.get_partition_key_for_timestamp(hour.timestamp())
    return dg.RunRequest(run_key=f"late-{key}", partition_key=key, tags={"aigrid/reason": "late-data"})


automation_sensor = dg.AutomationConditionSensorDefinition(
    "aigrid_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)

#: Per-partition deadlines: the latest hour by HH:45, the latest day by 03:00 UTC (WARN when missed). Dagster marks
#: these builders as superseded by ``FreshnessPolicy``, but a policy is judged per asset, not per partition
#: (backfilling an old hour would make the asset look fresh, dagster discussion #34023), so they are the right
#: tool here; the warning is silenced for exactly these calls.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    HOURLY_FRESHNESS = dg.build_time_partition_freshness_checks(
        assets=[
            "gpu_sample",
            "gpu_hourly",
            "gpu_health_events",
            "gpu_tenant_hourly",
            "tenant_usage_hourly",
            "ai_ran_share_hourly",
            "data_quality",
            "ran_pm_record",
            "ran_cell_hourly",
            "ran_gnb_hourly",
            "meter_reading",
            "meter_energy_hourly",
            "pue_hourly",
        ],
        deadline_cron="45 * * * *",
        timezone="UTC",
    )
    DAILY_FRESHNESS = dg.build_time_partition_freshness_checks(
        assets=["gpu_daily", "node_daily", "tenant_usage_daily", "pue_daily"], deadline_cron="0 3 * * *", timezone="UTC"
    )
    FRESHNESS_CHECKS = [*HOURLY_FRESHNESS, *DAILY_FRESHNESS]
    freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=FRESHNESS_CHECKS,
        name="aigrid_freshness",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )

JOBS = [hourly_facts, daily_marts]
SCHEDULES = [hourly_facts_schedule, daily_marts_schedule, hourly_facts_late_schedule]
SENSORS: list[dg.SensorDefinition] = [automation_sensor, freshness_sensor]

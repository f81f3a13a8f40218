"""Jobs, schedules and sensors: when aigrid runs without anyone pressing a button.

- ``hourly_facts`` runs every hourly-partitioned asset for the hour that just ended, at HH:20 (collectors
  flush and file drops arrive in the minutes after an hour), and again at HH:50 for the hour before that,
  so files that arrive late are picked up without a manual backfill.
- ``daily_marts`` runs the daily partitions at 01:30 UTC for the day before.
- Unpartitioned downstream assets (last values, inventories, the serving file) are kept fresh by the
  automation sensor: they re-run when anything upstream changed (``AutomationCondition.eager``).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipelines.partitions import HOURLY

HOURLY_ASSETS = dg.AssetSelection.tag("cadence", "hourly")
DAILY_ASSETS = dg.AssetSelection.tag("cadence", "daily")

hourly_facts = dg.define_asset_job(
    "hourly_facts",
    selection=HOURLY_ASSETS,
    description="Every hourly asset for one UTC hour: clean facts, rollups, tenancy.",
)
daily_marts = dg.define_asset_job(
    "daily_marts",
    selection=DAILY_ASSETS,
    description="Every daily asset for one UTC day: daily tenant usage, daily PUE.",
)

hourly_facts_schedule = dg.build_schedule_from_partitioned_job(
    hourly_facts, minute_of_hour=20, name="hourly_facts_schedule", default_status=dg.DefaultScheduleStatus.RUNNING
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
    tick = context.scheduled_execution_time.astimezone(dt.UTC)
    hour = tick.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    key = HOURLY.get_partition_key_for_timestamp(hour.timestamp())
    return dg.RunRequest(run_key=f"late-{key}", partition_key=key, tags={"aigrid/reason": "late-data"})


automation_sensor = dg.AutomationConditionSensorDefinition(
    "aigrid_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)

JOBS = [hourly_facts, daily_marts]
SCHEDULES = [hourly_facts_schedule, daily_marts_schedule, hourly_facts_late_schedule]
SENSORS: list[dg.SensorDefinition] = [automation_sensor]

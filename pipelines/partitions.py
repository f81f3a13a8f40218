"""Time partitions: hourly (UTC) from landing to hourly facts, daily for statements and daily PUE.

Site is a column, not a partition dimension: Dagster advises at most ~100,000 partitions per asset, and
hourly × sites would pass that in a few years. The first partition is configurable for sites whose history
(e.g. a Prometheus backfill) starts earlier.
"""

from __future__ import annotations

import os

import dagster as dg

START_ENV = "AIGRID_PARTITIONS_START"
START_DAY = os.environ.get(START_ENV, "2025-01-01")

HOURLY = dg.HourlyPartitionsDefinition(start_date=f"{START_DAY}-00:00", timezone="UTC")
DAILY = dg.DailyPartitionsDefinition(start_date=START_DAY, timezone="UTC")

#: Writing assets process a whole backfill range in one run (Dagster launches one run, not one per hour).
SINGLE_RUN = dg.BackfillPolicy.single_run()

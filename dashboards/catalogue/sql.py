"""SQL fragments every catalogue entry shares, in the DuckDB plugin's dialect.

Only ``$__timeFilter(col)``, ``$__timeFrom()``, ``$__timeTo()`` and ``$__interval`` are used (see
:mod:`dashboards.interpolation`); intervals are ``time_bucket`` over ``$__interval``, which Grafana clamps to
the panel's minimum interval, so hourly tables are never bucketed finer than an hour.
"""

from __future__ import annotations

#: Panels over hourly tables: Grafana never makes ``$__interval`` shorter than this.
HOURLY = "1h"
#: Panels over daily tables.
DAILY = "1d"

RANGE_START = "CAST($__timeFrom() AS TIMESTAMP)"
RANGE_END = "CAST($__timeTo() AS TIMESTAMP)"
#: A GPU or node whose newest sample is older than this before the range end has fallen silent.
SILENT_AFTER = "INTERVAL 15 MINUTE"
SILENT_BEFORE = f"{RANGE_END} - {SILENT_AFTER}"
#: Utilisation at or above which a GPU counts as busy "now" (NVML reports 0 % when nothing runs).
BUSY_RATIO = 0.05
#: The reserved tenant lines of the tenancy tables.
IDLE = "'idle'"
UNATTRIBUTED = "'unattributed'"


def bucket(column: str) -> str:
    """The start of the ``$__interval`` bucket that ``column`` falls in."""
    return f"time_bucket(CAST($__interval AS INTERVAL), {column})"


def ratio(numerator: str, denominator: str) -> str:
    """A ratio of sums that is NULL (not an error, not infinity) when the denominator is zero."""
    return f"{numerator} / nullif({denominator}, 0)"


def per_hour_by(label: str, label_name: str, value: str, value_name: str, source: str, where: str) -> str:
    """Per interval and label: the sum of ``value`` divided by the hours of the interval that have data.

    Dividing by the interval's hours (not by the hours of each label's own rows) keeps stacked series
    additive: a tenant that held GPUs for one hour of a 12-hour interval counts 1/12 of its GPU-hours.
    ``source`` is the FROM clause (a table or a join) and must provide an ``hour`` column.
    """
    return f"""
WITH r AS (
  SELECT {bucket("hour")} AS time, hour, {label} AS label, {value} AS v
  FROM {source}
  WHERE {where}
), hours AS (
  SELECT time, count(DISTINCT hour) AS n FROM r GROUP BY time
)
SELECT r.time, r.label AS {label_name}, sum(r.v) / any_value(hours.n) AS {value_name}
FROM r
JOIN hours USING (time)
GROUP BY 1, 2
ORDER BY 1, 2"""

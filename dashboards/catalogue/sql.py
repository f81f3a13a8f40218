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


#: From this ``$__interval`` on, utilisation histograms are read from gpu_daily (24× fewer rows) instead of
#: gpu_hourly: a year's range at Grafana's ~12 h interval would otherwise sum a billion bins on a 1,000-GPU fleet.
DAILY_HISTOGRAMS_FROM = "INTERVAL 6 HOUR"


def util_source(columns: str, where: str) -> str:
    """GPU rows with a ``time`` bucket plus ``columns`` (which may name ``util_hist``, ``busy_s``, …).

    Hourly rows while ``$__interval`` is under 6 hours; from 6 hours on, the daily rows of the UTC days that
    the range touches, bucketed by at least a day. DuckDB drops the branch whose constant condition is
    false before it scans anything, so only one table is read. ``where`` filters both tables (they share
    ``site``, ``node`` and ``gpu_uuid``).
    """
    interval = "CAST($__interval AS INTERVAL)"
    return f"""
  SELECT {bucket("hour")} AS time, {columns}
  FROM gpu_hourly
  WHERE {interval} < {DAILY_HISTOGRAMS_FROM} AND $__timeFilter(hour) AND {where}
  UNION ALL
  SELECT time_bucket(greatest({interval}, INTERVAL 1 DAY), CAST(day AS TIMESTAMP)) AS time, {columns}
  FROM gpu_daily
  WHERE {interval} >= {DAILY_HISTOGRAMS_FROM} AND $__timeFilter(day) AND {where}"""


def hist_percentiles(source: str, keys: str, quantiles: dict[str, float]) -> str:
    """CTEs ``bins``, ``cum`` and ``pct``: exact utilisation percentiles per ``keys`` from summed histograms.

    ``source`` is a CTE with the ``keys`` columns and ``util_hist`` (101 sample counts, element k+1 at k %).
    Summing the bins of any set of GPU-hours and taking the first bin whose running count reaches
    ⌈q × total⌉ is the nearest-rank percentile of that set's samples, the same as ``quantile_disc`` over
    the raw samples. ``pct`` has the ``keys`` and one 0..1 column per entry of ``quantiles``.
    """
    picks = ",\n         ".join(
        f"min(pct) FILTER (WHERE running >= greatest(1, ceil({q} * total))) / 100.0 AS {name}"
        for name, q in quantiles.items()
    )
    return f"""bins AS (
  SELECT {keys}, i - 1 AS pct, sum(util_hist[i]) AS n
  FROM {source}, range(1, 102) AS r(i)
  GROUP BY ALL
), cum AS (
  SELECT {keys}, pct,
         sum(n) OVER (PARTITION BY {keys} ORDER BY pct) AS running,
         sum(n) OVER (PARTITION BY {keys}) AS total
  FROM bins
), pct AS (
  SELECT {keys},
         {picks}
  FROM cum
  WHERE total > 0
  GROUP BY ALL
)"""

"""A tenant's monthly statement, read from the serving file: the lines, the days and the totals.

Every number comes from ``tenant_usage_monthly`` (lines and totals) and ``tenant_usage_daily`` (the days), so a
statement's totals equal the marts by construction; :func:`load_statement` also checks that the days add up to
the month and refuses to produce a statement that would not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import polars as pl

from collectors.errors import InputError

#: Totals a statement shows, in order, with their labels.
TOTALS = {
    "gpu_hours": "GPU-hours allocated",
    "busy_gpu_hours": "GPU-hours busy",
    "reserved_gpu_hours": "of which reserved",
    "gpu_energy_kwh": "GPU energy (kWh)",
    "overhead_kwh": "Facility overhead (kWh, PUE uplift)",
    "facility_energy_kwh": "Facility energy (kWh)",
    "gpu_hour_cost": "GPU-hour charges",
    "energy_cost": "Energy charges",
    "cost": "Usage total",
    "idle_share_gpu_hours": "Share of idle capacity (GPU-hours)",
    "idle_share_cost": "Share of idle capacity (charge)",
    "total_cost": "Amount due",
}
_SUMMED = [k for k in TOTALS if k != "total_cost"]
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Statement:
    tenant: str
    name: str
    kind: str
    month: dt.date
    currency: str | None
    idle_policy: str
    rules: str
    lines: pl.DataFrame
    daily: pl.DataFrame
    totals: dict[str, float | None]
    data_until: dt.datetime | None
    hours_without_pue: float
    gpu_coverage_ratio: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def period(self) -> str:
        return f"{self.month:%Y-%m}"


def parse_month(text: str) -> dt.date:
    """``2026-11`` → 2026-11-01; an InputError naming the value otherwise."""
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise InputError(f"month {text!r} is not YYYY-MM (e.g. 2026-11)", field="--month") from None


def tenants_in_month(con: duckdb.DuckDBPyConnection, month: dt.date) -> list[str]:
    """Tenants with usage in the month that get a statement: every configured tenant (not idle/unattributed)."""
    rows = con.execute(
        "SELECT DISTINCT tenant FROM tenant_usage_monthly WHERE month = ? AND kind IN ('ai', 'ran') ORDER BY 1",
        [month],
    ).fetchall()
    return [str(r[0]) for r in rows]


def load_statement(con: duckdb.DuckDBPyConnection, month: dt.date, tenant: str) -> Statement:
    """The statement of ``tenant`` for ``month`` from an open (read-only) serving connection."""
    lines = con.execute(
        """SELECT site, model, days, gpu_hours, busy_gpu_hours, utilisation_ratio, reserved_gpu_hours,
                  gpu_energy_kwh, pue, overhead_kwh, facility_energy_kwh, hours_without_pue, currency,
                  gpu_hour_cost / nullif(gpu_hours, 0) AS gpu_hour_rate, gpu_hour_cost, energy_cost, cost,
                  idle_policy, idle_share_gpu_hours, idle_share_energy_kwh, idle_share_cost, kind
           FROM tenant_usage_monthly WHERE month = ? AND tenant = ? ORDER BY site, model""",
        [month, tenant],
    ).pl()
    if lines.is_empty():
        known = con.execute("SELECT DISTINCT tenant FROM tenant_usage_monthly WHERE month = ? ORDER BY 1", [month])
        names = ", ".join(str(r[0]) for r in known.fetchall()) or "none"
        raise InputError(f"no usage for tenant {tenant!r} in {month:%Y-%m}; tenants with usage: {names}")
    meta = con.execute("SELECT name, kind, rules FROM dim_tenant WHERE tenant = ?", [tenant]).fetchone()
    name, kind, rules = meta if meta else (tenant, str(lines.get_column("kind")[0]), "")
    end = _next_month(month)
    daily = con.execute(
        """SELECT day, sum(gpu_hours) AS gpu_hours, sum(busy_gpu_hours) AS busy_gpu_hours,
                  sum(gpu_energy_kwh) AS gpu_energy_kwh, sum(facility_energy_kwh) AS facility_energy_kwh,
                  sum(cost) AS cost
           FROM tenant_usage_daily WHERE tenant = ? AND day >= ? AND day < ? GROUP BY day ORDER BY day""",
        [tenant, month, end],
    ).pl()
    totals = _totals(lines)
    _check_days(daily, totals, tenant, month)
    until = con.execute(
        "SELECT max(hour) + INTERVAL 1 HOUR FROM tenant_usage_hourly WHERE tenant = ? AND hour >= ? AND hour < ?",
        [tenant, month, end],
    ).fetchone()
    coverage = con.execute(
        "SELECT sum(reporting) / nullif(sum(expected), 0) FROM data_quality "
        "WHERE source = 'gpu' AND hour >= ? AND hour < ? AND site IN (SELECT unnest(?))",
        [month, end, lines.get_column("site").unique().to_list()],
    ).fetchone()
    currency = lines.get_column("currency").drop_nulls()
    statement = Statement(
        tenant=tenant,
        name=str(name),
        kind=str(kind),
        month=month,
        currency=str(currency[0]) if currency.len() else None,
        idle_policy=str(lines.get_column("idle_policy")[0]),
        rules=str(rules or ""),
        lines=lines.drop("kind"),
        daily=daily,
        totals=totals,
        data_until=until[0] if until else None,
        hours_without_pue=float(lines.get_column("hours_without_pue").sum()),
        gpu_coverage_ratio=None if coverage is None or coverage[0] is None else float(coverage[0]),
    )
    return _with_notes(statement)


def _totals(lines: pl.DataFrame) -> dict[str, float | None]:
    totals: dict[str, float | None] = {}
    for column in _SUMMED:
        values = lines.get_column(column)
        totals[column] = None if values.null_count() == values.len() else float(values.sum())
    cost, share = totals["cost"], totals["idle_share_cost"]
    totals["total_cost"] = None if cost is None else cost + (share or 0.0)
    return totals


def _check_days(daily: pl.DataFrame, totals: dict[str, float | None], tenant: str, month: dt.date) -> None:
    for column in ("gpu_hours", "gpu_energy_kwh"):
        days = float(daily.get_column(column).sum())
        month_total = totals[column] or 0.0
        if abs(days - month_total) > TOLERANCE * max(abs(month_total), 1.0):
            raise InputError(
                f"{tenant} {month:%Y-%m}: the days give {days:.6f} {column} but the month {month_total:.6f}; "
                "the serving file is between two publishes or tenant_usage_monthly is stale — re-run the pipeline"
            )


def _with_notes(s: Statement) -> Statement:
    notes = list(s.notes)
    if s.currency is None:
        notes.append("No tariff configured: quantities only, no charges.")
    if s.hours_without_pue > 0:
        notes.append(
            f"{s.hours_without_pue:.2f} GPU-hours fell in hours without a measured PUE; their energy is shown and "
            "charged at GPU energy without facility overhead."
        )
    if s.idle_policy != "separate":
        notes.append(
            f"Idle capacity is shared out ({s.idle_policy}): unused GPU time of the sites and models you used, "
            "shown as its own line."
        )
    if s.gpu_coverage_ratio is not None and s.gpu_coverage_ratio < 0.99:
        notes.append(f"GPU telemetry covered {s.gpu_coverage_ratio:.1%} of expected GPU-hours at these sites.")
    return Statement(**{**s.__dict__, "notes": notes})


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

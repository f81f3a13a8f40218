"""Tenancy and RAN rows of the dashboard fixture: usage with PUE uplift and cost per tenant (hour, day,
month with the idle share), the tariff, the RAN cells and gNBs, and the AI-RAN share built from both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.dashboards import fixture_energy
from tests.dashboards import fixture_world as w

#: osa1 has no PUE for 07:00 (facility energy unknown there): its energy is priced at GPU energy.
NO_PUE = ("osa1", 1)


def _priced(site: str, gpu_hours: float, gpu_kwh: float, pue: float | None) -> dict[str, Any]:
    facility = None if pue is None else gpu_kwh * pue
    energy_price = w.tariff_energy_price(site)
    gpu_hour_cost = gpu_hours * w.GPU_HOUR_PRICE
    energy_cost = (gpu_kwh if facility is None else facility) * energy_price
    return {
        "model": w.MODEL,
        "gpu_energy_kwh": gpu_kwh,
        "pue": pue,
        "overhead_kwh": None if pue is None else gpu_kwh * (pue - 1),
        "facility_energy_kwh": facility,
        "hours_without_pue": gpu_hours if pue is None else 0.0,
        "currency": w.CURRENCY,
        "gpu_hour_cost": gpu_hour_cost,
        "energy_cost": energy_cost,
        "cost": gpu_hour_cost + energy_cost,
    }


def tenant_hourly() -> list[dict[str, Any]]:
    rows = []
    for si, (site, *_) in enumerate(w.SITES):
        for h, hour in enumerate(w.hours()):
            pue = None if (site, h) == NO_PUE else fixture_energy.site_pue(si, h)
            for tenant, _name, kind, gpu_hours, efficiency in w.TENANTS:
                busy = gpu_hours * efficiency * (0.9 + 0.04 * h)
                rows.append(
                    {
                        "hour": hour,
                        "site": site,
                        "tenant": tenant,
                        "kind": kind,
                        "gpu_hours": gpu_hours,
                        "busy_gpu_hours": busy,
                        "utilisation_ratio": busy / gpu_hours,
                        "reserved_gpu_hours": gpu_hours if tenant == "kyoto-univ" else 0.0,
                        **_priced(site, gpu_hours, gpu_hours * (0.1 + 0.5 * efficiency), pue),
                        "gpu_hour_price": w.GPU_HOUR_PRICE,
                        "energy_price": w.tariff_energy_price(site),
                    }
                )
    return rows


def tenant_daily() -> list[dict[str, Any]]:
    rows = []
    for site, *_ in w.SITES:
        for back in range(3):
            for tenant, _name, kind, gpu_hours, efficiency in w.TENANTS:
                held = 24 * gpu_hours
                rows.append(
                    {
                        "day": w.TODAY - dt.timedelta(days=back),
                        "site": site,
                        "tenant": tenant,
                        "kind": kind,
                        "gpu_hours": held,
                        "busy_gpu_hours": held * efficiency,
                        "utilisation_ratio": efficiency,
                        "reserved_gpu_hours": held if tenant == "kyoto-univ" else 0.0,
                        **_priced(site, held, held * 0.4, 1.35),
                    }
                )
    return rows


def tenant_monthly() -> list[dict[str, Any]]:
    """October and November to date; the idle GPU-hours shared out in proportion to the AI and RAN tenants'."""
    rows = []
    for site, *_ in w.SITES:
        for month, days in ((dt.date(2026, 10, 1), 31), (dt.date(2026, 11, 1), 20)):
            users = {t: g for t, _n, k, g, _e in w.TENANTS if k in ("ai", "ran")}
            idle_hours = 24 * days * next(g for t, _n, _k, g, _e in w.TENANTS if t == "idle")
            idle_cost = _priced(site, idle_hours, idle_hours * 0.4, 1.35)["cost"]
            for tenant, _name, kind, gpu_hours, efficiency in w.TENANTS:
                held = 24 * days * gpu_hours
                priced = _priced(site, held, held * 0.4, 1.35)
                share = users[tenant] / sum(users.values()) if tenant in users else 0.0
                shared_hours = -idle_hours if tenant == "idle" else idle_hours * share
                rows.append(
                    {
                        "month": month,
                        "site": site,
                        "tenant": tenant,
                        "kind": kind,
                        "gpu_hours": held,
                        "busy_gpu_hours": held * efficiency,
                        "utilisation_ratio": efficiency,
                        "reserved_gpu_hours": held if tenant == "kyoto-univ" else 0.0,
                        **priced,
                        "days": days,
                        "idle_policy": w.IDLE_POLICY,
                        "idle_share_gpu_hours": shared_hours,
                        "idle_share_energy_kwh": shared_hours * 0.4,
                        "idle_share_cost": -idle_cost if tenant == "idle" else idle_cost * share,
                    }
                )
    return rows


def dimensions() -> w.Rows:
    rules = {
        "ai": "namespaces {t}-*",
        "ran": "namespaces ran-du",
        "idle": "GPU time nobody held",
        "unattributed": "held GPU time no rule matched",
    }

    def tariff(item: str, position: int, sites: str, model: str, price: float, unit: str) -> dict[str, Any]:
        return {
            "item": item,
            "position": position,
            "sites": sites,
            "model": model,
            "price": price,
            "unit": unit,
            "currency": w.CURRENCY,
            "idle_policy": w.IDLE_POLICY,
            "valid_from": dt.datetime(2026, 10, 1),
        }

    return {
        "dim_site": [{"site": s, "name": n, "timezone": tz, "pue_target": t} for s, n, tz, t in w.SITES],
        "dim_tenant": [{"tenant": t, "name": n, "kind": k, "rules": rules[k].format(t=t)} for t, n, k, *_ in w.TENANTS],
        "dim_tariff": [
            tariff("energy", 1, "tyo1", "*", w.KWH_PRICE["tyo1"], "kWh"),
            tariff("energy", 2, "*", "*", w.KWH_PRICE["osa1"], "kWh"),
            tariff("gpu_hour", 1, "*", "NVIDIA H100*", w.GPU_HOUR_PRICE, "GPU-hour"),
        ],
    }


def ran() -> w.Rows:
    cells, gnbs, quality = [], [], []
    held: list[dict[str, Any]] = []
    for site, *_ in w.SITES:
        gnb = f"gnb-{site}-01"
        for h, hour in enumerate(w.hours()):
            volume, covered_total = 0.0, 0.0
            for c in range(1, 4):
                covered = 2700.0 if (c == 3 and h == 2) else 3600.0
                covered_total += covered
                dl, ul = 0.2 + 0.1 * h + 0.05 * c, 0.1 + 0.04 * h
                vol_dl, vol_ul = 40_000.0 * dl * covered / 3600, 8_000.0 * ul * covered / 3600
                volume += vol_dl + vol_ul
                cells.append(
                    {
                        "hour": hour,
                        "site": site,
                        "managed_element": gnb,
                        "cell": f"{gnb}/NRCellDU={c}",
                        "periods": int(covered // 900),
                        "covered_s": covered,
                        "prb_util_dl_ratio": dl,
                        "prb_util_ul_ratio": ul,
                        "ue_thp_dl_kbps": 90_000.0 * (1.2 - dl),
                        "ue_thp_ul_kbps": 20_000.0 * (1.1 - ul),
                        "volume_dl_mbit": vol_dl,
                        "volume_ul_mbit": vol_ul,
                        "rrc_conn_mean": 40.0 + 100 * dl,
                        "rrc_conn_max": 60.0 + 150 * dl,
                        "active_ue_dl_mean": 5.0 + 20 * dl,
                        "suspect_periods": 1 if covered < 3600 else 0,
                    }
                )
            energy = 1.2 + 0.1 * h
            gnbs.append(
                {
                    "hour": hour,
                    "site": site,
                    "managed_element": gnb,
                    "cells": 3,
                    "power_mean_w": energy * 1000.0,
                    "energy_kwh": energy,
                    "volume_mbit": volume,
                    "ee_bit_per_j": volume * 1e6 / (energy * 3.6e6),
                    "covered_s": 3600.0,
                    "energy_source": "PEE.Energy",
                }
            )
            bad = 1 if (site == "osa1" and h == 3) else 0
            if bad:
                name = f"A{hour:%Y%m%d.%H}00+0000-{hour:%H}15+0000_{gnb}.xml"
                held.append(
                    {
                        "hour": hour,
                        "site": site,
                        "source": "ran_pm",
                        "kind": "ran_pm",
                        "file": name,
                        "line": 57,
                        "field": None,
                        "reason": "file is truncated: the XML ends before the document is complete",
                        "arrived_at": hour + dt.timedelta(minutes=20),
                        "quarantined_at": hour + dt.timedelta(minutes=21),
                        "sha256": "1" * 64,
                        "quarantined_as": f"quarantine/ran_pm/{site}/{name}",
                    }
                )
            quality.append(
                {
                    "hour": hour,
                    "site": site,
                    "source": "ran_pm",
                    "unit": "cells",
                    "expected": 3,
                    "reporting": 3,
                    "missing": 0,
                    "coverage_ratio": 1.0,
                    "time_coverage_ratio": covered_total / (3 * 3600.0),
                    "records": 4 * 3 * 14,
                    "files": 4 - bad,
                    "late_files": 0,
                    "max_delay_s": 310.0,
                    "quarantined_files": bad,
                }
            )
    return {"ran_cell_hourly": cells, "ran_gnb_hourly": gnbs, "data_quality": quality, "quarantined_file": held}


def ai_ran_share(usage: list[dict[str, Any]], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per site and hour: the tenant kinds' GPU-hours and energy, with the cells' load beside them."""
    rows = []
    for site, *_ in w.SITES:
        for hour in w.hours():
            u = [r for r in usage if r["site"] == site and r["hour"] == hour]
            c = [r for r in cells if r["site"] == site and r["hour"] == hour]

            def total(column: str, kind: str | None = None, rows_: list[dict[str, Any]] = u) -> float:
                return float(sum(r[column] for r in rows_ if kind is None or r["kind"] == kind))

            gpu_hours, ran_kwh = total("gpu_hours"), total("gpu_energy_kwh", "ran")
            allocated = gpu_hours - total("gpu_hours", "idle")
            covered = total("covered_s", rows_=c)
            volume_dl, volume_ul = total("volume_dl_mbit", rows_=c), total("volume_ul_mbit", rows_=c)
            rows.append(
                {
                    "hour": hour,
                    "site": site,
                    "gpu_hours": gpu_hours,
                    **{f"{k}_gpu_hours": total("gpu_hours", k) for k in ("ran", "ai", "unattributed", "idle")},
                    "ran_busy_gpu_hours": total("busy_gpu_hours", "ran"),
                    "ai_busy_gpu_hours": total("busy_gpu_hours", "ai"),
                    "gpu_energy_kwh": total("gpu_energy_kwh"),
                    **{f"{k}_energy_kwh": total("gpu_energy_kwh", k) for k in ("ran", "ai", "unattributed", "idle")},
                    "ran_share_ratio": total("gpu_hours", "ran") / gpu_hours,
                    "ai_share_ratio": total("gpu_hours", "ai") / gpu_hours,
                    "idle_share_ratio": total("gpu_hours", "idle") / gpu_hours,
                    "ran_share_of_allocated_ratio": total("gpu_hours", "ran") / allocated,
                    "cells": len(c),
                    "prb_util_dl_ratio": sum(r["prb_util_dl_ratio"] * r["covered_s"] for r in c) / covered,
                    "prb_util_ul_ratio": sum(r["prb_util_ul_ratio"] * r["covered_s"] for r in c) / covered,
                    "volume_dl_mbit": volume_dl,
                    "volume_ul_mbit": volume_ul,
                    "ran_bit_per_gpu_j": (volume_dl + volume_ul) * 1e6 / (ran_kwh * 3.6e6),
                }
            )
    return rows


def tables() -> w.Rows:
    usage, radio = tenant_hourly(), ran()
    return {
        "tenant_usage_hourly": usage,
        "tenant_usage_daily": tenant_daily(),
        "tenant_usage_monthly": tenant_monthly(),
        "ai_ran_share_hourly": ai_ran_share(usage, radio["ran_cell_hourly"]),
        **radio,
        **dimensions(),
    }

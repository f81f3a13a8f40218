"""Write a tenant statement as files: line items (CSV), days (CSV) and a readable HTML page with a usage plot.

The files are deterministic for the same serving data (no generation timestamps, a fixed SVG hash salt), so
re-running ``aigrid report tenants`` over an unchanged month rewrites identical bytes. They are written
atomically: a reader never sees half a statement.
"""

from __future__ import annotations

import calendar
import csv
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from collectors import atomic
from pipelines.lib.statement import TOTALS, Statement

LINE_FIELDS = ("section", "site", "model", "item", "quantity", "unit", "rate", "amount", "currency")


def file_stem(s: Statement) -> str:
    return f"{s.tenant}-{s.period}"


def line_items(s: Statement) -> list[dict[str, object]]:
    """The statement as line items: usage per site and model, charges, idle share, totals."""
    cur = s.currency or ""
    items: list[dict[str, object]] = []

    def add(
        section: str, site: str, model: str, item: str, qty: object, unit: str, rate: object, amount: object
    ) -> None:
        items.append(
            {
                "section": section,
                "site": site,
                "model": model,
                "item": item,
                "quantity": _num(qty),
                "unit": unit,
                "rate": _num(rate),
                "amount": _num(amount),
                "currency": cur if amount is not None else "",
            }
        )

    for r in s.lines.iter_rows(named=True):
        site, model = r["site"], r["model"]
        add(
            "usage",
            site,
            model,
            "GPU-hours allocated",
            r["gpu_hours"],
            "GPU-hour",
            r["gpu_hour_rate"],
            r["gpu_hour_cost"],
        )
        add("usage", site, model, "GPU-hours busy", r["busy_gpu_hours"], "GPU-hour", None, None)
        if r["reserved_gpu_hours"]:
            add("usage", site, model, "of which reserved", r["reserved_gpu_hours"], "GPU-hour", None, None)
        add("usage", site, model, "GPU energy", r["gpu_energy_kwh"], "kWh", None, None)
        pue = "n/a" if r["pue"] is None else f"{r['pue']:.3f}"
        add("usage", site, model, f"Facility overhead (PUE {pue})", r["overhead_kwh"], "kWh", None, None)
        # Energy is charged on facility kWh where the hour had a PUE and on GPU kWh where it had none:
        # GPU energy + overhead is exactly that quantity.
        billed = (r["gpu_energy_kwh"] or 0.0) + (r["overhead_kwh"] or 0.0)
        energy_rate = r["energy_cost"] / billed if r["energy_cost"] is not None and billed else None
        add("usage", site, model, "Energy charged", billed, "kWh", energy_rate, r["energy_cost"])
        if s.idle_policy != "separate":
            add(
                "idle share",
                site,
                model,
                f"Share of idle capacity ({s.idle_policy})",
                r["idle_share_gpu_hours"],
                "GPU-hour",
                None,
                r["idle_share_cost"],
            )
    for key, label in TOTALS.items():
        value = s.totals.get(key)
        money = key.endswith("cost")
        add("total", "", "", label, None if money else value, _unit(key), None, value if money else None)
    return items


def write_statement(s: Statement, out_dir: Path) -> list[Path]:
    """Write ``<tenant>-<YYYY-MM>.csv`` (line items), ``…-daily.csv`` and ``….html``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(s)
    lines_csv = _csv(LINE_FIELDS, line_items(s))
    daily_fields = ("day", "gpu_hours", "busy_gpu_hours", "gpu_energy_kwh", "facility_energy_kwh", "cost")
    daily_csv = _csv(
        daily_fields,
        [{k: (str(v) if k == "day" else _num(v)) for k, v in r.items()} for r in s.daily.iter_rows(named=True)],
    )
    paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}-daily.csv", out_dir / f"{stem}.html"]
    atomic.write_text(paths[0], lines_csv)
    atomic.write_text(paths[1], daily_csv)
    atomic.write_text(paths[2], render_html(s))
    return paths


def write_index(statements: list[Statement], out_dir: Path, period: str) -> Path:
    """An index page linking every statement of the month with its totals."""
    rows = "".join(
        f"<tr><td><a href='{html.escape(file_stem(s))}.html'>{html.escape(s.name)}</a></td>"
        f"<td>{html.escape(s.tenant)}</td><td class=n>{_fmt(s.totals['gpu_hours'], 2)}</td>"
        f"<td class=n>{_fmt(s.totals['gpu_energy_kwh'], 2)}</td>"
        f"<td class=n>{_money(s.totals['total_cost'], s.currency)}</td></tr>"
        for s in statements
    )
    body = (
        f"<h1>Tenant statements {html.escape(period)}</h1><table><tr><th>Tenant</th><th>id</th><th>GPU-hours</th>"
        f"<th>GPU kWh</th><th>Amount due</th></tr>{rows}</table>"
    )
    path = out_dir / f"index-{period}.html"
    atomic.write_text(path, _page(f"Statements {period}", body))
    return path


def render_html(s: Statement) -> str:
    cur = s.currency
    line_rows = "".join(
        "<tr>"
        f"<td>{html.escape(r['site'])}</td><td>{html.escape(r['model'])}</td>"
        f"<td class=n>{_fmt(r['gpu_hours'], 2)}</td><td class=n>{_fmt(r['busy_gpu_hours'], 2)}</td>"
        f"<td class=n>{_pct(r['utilisation_ratio'])}</td><td class=n>{_fmt(r['gpu_energy_kwh'], 2)}</td>"
        f"<td class=n>{_fmt(r['pue'], 3)}</td><td class=n>{_fmt(r['facility_energy_kwh'], 2)}</td>"
        f"<td class=n>{_money(r['gpu_hour_cost'], cur)}</td><td class=n>{_money(r['energy_cost'], cur)}</td>"
        f"<td class=n>{_money(r['cost'], cur)}</td>"
        "</tr>"
        for r in s.lines.iter_rows(named=True)
    )
    totals = "".join(
        f"<tr><td>{html.escape(label)}</td><td class=n>"
        + (_money(s.totals.get(key), cur) if key.endswith("cost") else _fmt(s.totals.get(key), 2))
        + "</td></tr>"
        for key, label in TOTALS.items()
        if not (key.startswith("idle_share") and s.idle_policy == "separate")
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in s.notes) or "<li>none</li>"
    until = f"{s.data_until:%Y-%m-%d %H:%M} UTC" if s.data_until else "n/a"
    body = f"""
<h1>GPU usage statement — {html.escape(s.name)}</h1>
<p class=meta>Tenant <b>{html.escape(s.tenant)}</b> ({html.escape(s.kind)}) · period <b>{s.period}</b> (UTC) ·
data up to {until} · currency {html.escape(cur or "none")}</p>
<p class=meta>Recognised by: {html.escape(s.rules or "n/a")}</p>
<h2>Summary</h2><table class=totals>{totals}</table>
<h2>Daily usage</h2>{plot_svg(s)}
<h2>By site and GPU model</h2>
<table><tr><th>Site</th><th>GPU model</th><th>GPU-hours</th><th>busy</th><th>utilisation</th><th>GPU kWh</th>
<th>PUE</th><th>facility kWh</th><th>GPU-hour charges</th><th>energy charges</th><th>total</th></tr>{line_rows}</table>
<h2>Notes</h2><ul>{notes}</ul>
<p class=meta>GPU-hours count the time a GPU (or its MIG slice, as a fraction of the board) was held by you,
whether busy or not; busy GPU-hours weight that time by utilisation. GPU energy is the board's metered energy
while held, split by share; facility energy adds the site's cooling and power losses through the hour's PUE.</p>
"""
    return _page(f"{s.tenant} {s.period}", body)


def plot_svg(s: Statement) -> str:
    """Daily GPU-hours (allocated and busy) and GPU energy, as inline SVG."""
    if s.daily.is_empty():
        return "<p>no daily rows</p>"
    plt.rcParams["svg.hashsalt"] = "aigrid"
    days = [d.day for d in s.daily.get_column("day").to_list()]
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    try:
        alloc = s.daily.get_column("gpu_hours").to_list()
        busy = s.daily.get_column("busy_gpu_hours").to_list()
        ax.bar(days, alloc, color="#9ecae1", label="GPU-hours allocated")
        ax.bar(days, busy, color="#3182bd", width=0.5, label="GPU-hours busy")
        last = calendar.monthrange(s.month.year, s.month.month)[1]
        ax.set_xlim(0.4, last + 0.6)
        ax.set_xticks([d for d in range(1, last + 1) if d == 1 or d % 5 == 0])
        ax.set_xlabel(f"day of {s.period} (UTC)")
        ax.set_ylabel("GPU-hours")
        energy = ax.twinx()
        energy.plot(days, s.daily.get_column("gpu_energy_kwh").to_list(), color="#e6550d", marker="o", label="GPU kWh")
        energy.set_ylabel("GPU energy (kWh)")
        energy.set_ylim(bottom=0)
        handles = ax.get_legend_handles_labels()[0] + energy.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.meta {{ color: #555; font-size: 0.9rem; }}
table.totals td:first-child {{ min-width: 18rem; }}
</style></head><body>{body}</body></html>
"""


def _csv(fields: tuple[str, ...], rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _num(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 9))
    return str(value)


def _unit(key: str) -> str:
    if key.endswith("kwh"):
        return "kWh"
    if key.endswith("hours"):
        return "GPU-hour"
    return ""


def _fmt(value: object, digits: int) -> str:
    return "–" if value is None else f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def _pct(value: object) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"  # type: ignore[arg-type]


def _money(value: object, currency: str | None) -> str:
    if value is None or currency is None:
        return "–"
    return f"{float(value):,.2f} {html.escape(currency)}"  # type: ignore[arg-type]

"""Benchmark: energy from meter registers (Polars) against a plain-Python loop, and meter CSV import.

    python -m bench.facility_energy [--meters 500] [--hours 24] [--step 60]

Prints throughput, time and peak memory, and the ratio to a baseline measured in the same run:

* ``register_intervals`` + ``spread_hourly`` against :func:`reference_hourly`, a straightforward Python
  loop over the same rules (the tests also use it to prove both give the same hourly energy);
* ``read_meter_csv`` against ``polars.read_csv`` of the same file (the cost of parsing alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import random
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from collectors.facility.meter_csv import read_meter_csv
from collectors.facility.registry import Meter, registry_from_meters
from pipelines.lib.counters import register_intervals, spread_hourly

T = TypeVar("T")
HOUR = dt.timedelta(hours=1)
ONE_US = dt.timedelta(microseconds=1)
START = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def synthetic_readings(
    *, meters: int, hours: int, step_s: int, rng: random.Random, event_scale: float = 1.0
) -> pl.DataFrame:
    """kWh registers with duplicates, glitches, resets (with and without a reset time), wraps and gaps.

    ``event_scale`` multiplies how often the unusual events happen (tests use more of them per reading).
    """
    k = event_scale
    rows: list[tuple[str, str, dt.datetime, float, dt.datetime | None]] = []
    steps = hours * 3600 // step_s
    for m in range(meters):
        meter = f"m{m:05d}"
        power_kw = rng.uniform(20, 200)
        register = 999_960.0 if m % 3 == 0 else rng.uniform(0, 500_000)
        reset_at: dt.datetime | None = None
        skip = 0
        for i in range(steps + 1):
            ts = START + dt.timedelta(seconds=i * step_s)
            if i:
                register += power_kw * step_s / 3600 * rng.uniform(0.9, 1.1)
            if register >= 1_000_000.0:
                register -= 1_000_000.0
            roll = rng.random()
            if roll < 0.003 * k:
                reset_at = ts - dt.timedelta(seconds=rng.randint(1, step_s - 1))
                register = power_kw * (ts - reset_at).total_seconds() / 3600
            elif roll < 0.005 * k:
                register = power_kw * rng.uniform(0, step_s) / 3600
            if skip:
                skip -= 1
                continue
            if rng.random() < 0.01 * k:
                skip = rng.randint(2, 6)
            value = register
            if 0 < i < steps and rng.random() < 0.003 * k:
                value = register * 10 if rng.random() < 0.5 else 0.0
            rows.append(("s1", meter, ts, value, reset_at))
            if rng.random() < 0.01 * k:
                rows.append(("s1", meter, ts, value, reset_at))
    return pl.DataFrame(
        rows,
        schema={
            "site": pl.String,
            "meter_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "energy_kwh": pl.Float64,
            "register_reset_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


def reference_hourly(
    readings: pl.DataFrame,
    *,
    wrap_at: float | None,
    max_power_w: float | None,
    max_gap_s: float | None,
    register_j: float = 3.6e6,
) -> pl.DataFrame:
    """The rules of :mod:`pipelines.lib.counters`, one reading at a time in plain Python."""
    points: dict[tuple[str, str], dict[dt.datetime, tuple[float, dt.datetime | None]]] = defaultdict(dict)
    for site, meter, ts, value, reset in readings.select(
        "site", "meter_id", "ts", "energy_kwh", "register_reset_at"
    ).iter_rows():
        if ts is None or value is None or not math.isfinite(value):
            continue
        seen = points[(site, meter)].get(ts)
        if seen is None or _duplicate_rank(value, reset) > _duplicate_rank(*seen):
            points[(site, meter)][ts] = (value, reset)
    out: list[dict[str, Any]] = []
    for (site, meter), by_ts in sorted(points.items()):
        series = sorted((ts, v, r) for ts, (v, r) in by_ts.items())
        hours: dict[dt.datetime, dict[str, Any]] = {}
        for interval in _reference_intervals(_without_glitches(series), wrap_at, max_power_w, max_gap_s, register_j):
            _spread(interval, hours)
        for hour, acc in sorted(hours.items()):
            energy = sum(acc["parts"]) if acc["parts"] else None
            out.append(
                {
                    "site": site,
                    "meter_id": meter,
                    "hour": hour,
                    "energy": energy,
                    "covered_s": acc["covered_us"] / 1e6,
                    "interpolated": acc["interpolated"],
                    "resets": acc["resets"],
                }
            )
    return pl.DataFrame(
        out,
        schema={
            "site": pl.String,
            "meter_id": pl.String,
            "hour": pl.Datetime("us", "UTC"),
            "energy": pl.Float64,
            "covered_s": pl.Float64,
            "interpolated": pl.Boolean,
            "resets": pl.Int64,
        },
    )


Point = tuple[dt.datetime, float, dt.datetime | None]
_NO_RESET = dt.datetime.min.replace(tzinfo=dt.UTC)


def _duplicate_rank(value: float, reset: dt.datetime | None) -> tuple[float, dt.datetime]:
    """Of two readings with the same timestamp the larger value wins; among equal ones the later reset."""
    return value, reset or _NO_RESET


def _without_glitches(series: list[Point]) -> list[Point]:
    kept = []
    for i, (ts, v, r) in enumerate(series):
        if 0 < i < len(series) - 1:
            _, pv, pr = series[i - 1]
            _, nv, nr = series[i + 1]
            if pv <= nv and (v < pv or v > nv) and r == pr and nr == pr:
                continue
        kept.append((ts, v, r))
    return kept


def _reference_intervals(
    series: list[Point], wrap: float | None, cap: float | None, max_gap: float | None, joules: float
) -> list[dict[str, Any]]:
    def power(energy: float, seconds: float) -> float | None:
        if seconds > 0:
            return energy * joules / seconds
        return math.inf if energy > 0 else None

    intervals = []
    for (t0, v0, r0), (t1, v1, r1) in itertools.pairwise(series):
        seconds = (t1 - t0).total_seconds()
        known = r1 is not None and r1 != r0 and t0 < r1 <= t1
        changed = r1 is not None and r0 is not None and r1 != r0
        wrapped = (wrap - v0 + v1) if wrap is not None else math.nan
        wrap_power = power(wrapped, seconds) if wrap is not None else None
        wrap_ok = wrap is not None and v0 <= wrap and (cap is None or wrap_power is None or wrap_power <= cap)
        if known or changed:
            method, energy = "reset", v1
        elif v1 - v0 >= 0:
            method, energy = "delta", v1 - v0
        elif wrap_ok:
            method, energy = "wrap", wrapped
        else:
            method, energy = "reset", v1
        measured_s = (t1 - r1).total_seconds() if known and r1 is not None else seconds
        p = power(energy, measured_s)
        rejected = cap is not None and p is not None and p > cap
        intervals.append(
            {
                "start": t0,
                "end": t1,
                "energy": None if rejected else energy,
                "method": "rejected" if rejected else method,
                "gap": max_gap is not None and seconds > max_gap,
                "lower_bound": not rejected and method == "reset" and not known,
                "reset_time": r1 if known else None,
            }
        )
    return intervals


def _floor_hour(ts: dt.datetime) -> dt.datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _spread(iv: dict[str, Any], hours: dict[dt.datetime, dict[str, Any]]) -> None:
    start, end, energy = iv["start"], iv["end"], iv["energy"]
    measured_from = iv["reset_time"] or start
    event_hour = _floor_hour(iv["reset_time"] or end - ONE_US)
    exact = not iv["gap"] and not iv["lower_bound"] and energy is not None and iv["method"] != "rejected"
    span = (end - measured_from) // ONE_US
    hour = _floor_hour(start)
    while hour <= _floor_hour(end - ONE_US):
        acc = hours.setdefault(hour, {"parts": [], "covered_us": 0, "interpolated": False, "resets": 0})
        overlap = max(0, (min(end, hour + HOUR) - max(measured_from, hour)) // ONE_US)
        share = overlap / span if span > 0 else (1.0 if hour == event_hour else 0.0)
        if energy is not None:
            acc["parts"].append(energy * share)
        if exact:
            acc["covered_us"] += overlap
        acc["interpolated"] |= iv["gap"] and energy is not None and share > 0
        acc["resets"] += int(iv["method"] in ("reset", "wrap") and hour == event_hour)
        hour += HOUR


def _timed(label: str, fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """Best of ``repeat`` runs (the first one pays thread-pool start-up and caches)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    best = min(times)
    extra = f" (first run {times[0]:.3f} s)" if repeat > 1 else ""
    print(f"  {label:<46} {best:8.3f} s{extra}")
    return result, best


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--meters", type=int, default=500)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--step", type=int, default=60, help="seconds between readings")
    args = parser.parse_args(argv)

    readings = synthetic_readings(meters=args.meters, hours=args.hours, step_s=args.step, rng=random.Random(7))
    n = readings.height
    print(f"energy from registers: {args.meters} meters x {args.hours} h every {args.step} s = {n:,} readings")
    rss0 = _peak_mib()

    def polars_path() -> pl.DataFrame:
        intervals = register_intervals(
            readings,
            series=["site", "meter_id"],
            register="energy_kwh",
            reset_at="register_reset_at",
            wrap_at=1_000_000.0,
            max_power_w=500_000.0,
            max_gap_s=3 * args.step,
        )
        return spread_hourly(intervals, series=["site", "meter_id"])

    ours, t_polars = _timed("register_intervals + spread_hourly (Polars)", polars_path, repeat=3)
    rss1 = _peak_mib()
    ref, t_python = _timed(
        "reference loop (plain Python, baseline)",
        lambda: reference_hourly(readings, wrap_at=1_000_000.0, max_power_w=500_000.0, max_gap_s=3 * args.step),
    )
    total = float(ours["energy"].sum())
    assert abs(total - float(ref["energy"].sum())) <= 1e-6 * max(1.0, abs(total)), "implementations disagree"
    print(f"  throughput Polars {n / t_polars:,.0f} readings/s, Python {n / t_python:,.0f} readings/s")
    print(
        f"  speed-up vs baseline: {t_python / t_polars:.1f}x; hourly rows {ours.height:,}; same energy {total:,.1f} kWh"
    )
    print(f"  peak RSS {rss1:,.0f} MiB after Polars (from {rss0:,.0f} MiB); {_peak_mib():,.0f} MiB after baseline")

    meters = [
        Meter(id=f"m{m:05d}", site="s1", role="it_input", quantity="energy_register", unit="kWh")
        for m in range(args.meters)
    ]
    registry = registry_from_meters(meters)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        readings.select(
            pl.col("ts").dt.convert_time_zone("Asia/Tokyo").dt.to_string("%Y-%m-%dT%H:%M:%S%:z").alias("timestamp"),
            "meter_id",
            pl.col("energy_kwh").round(3).alias("value"),
        ).write_csv(path)
        size_mb = path.stat().st_size / 1e6
        print(f"meter CSV import: {n:,} rows, {size_mb:.1f} MB (long layout, +09:00 offsets)")
        _, t_base = _timed("polars.read_csv (parse only, baseline)", lambda: pl.read_csv(path), repeat=3)
        result, t_read = _timed(
            "read_meter_csv (validate, convert, conform)", lambda: read_meter_csv(path, registry), repeat=2
        )
        assert result.records.height == n, (result.records.height, n, result.problems[:3])
        rate = f"{n / t_read:,.0f} rows/s ({size_mb / t_read:.1f} MB/s)"
        print(f"  throughput {rate}; {t_read / t_base:.1f}x the time of the parse-only baseline")
        print(f"  peak RSS {_peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()

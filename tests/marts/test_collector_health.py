"""collector_health_hourly from landed attempts: counts, ratios, durations and the latest error, exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from collectors.gpu.nvml.frames import collector_frame
from collectors.landing import LandingZone
from collectors.layout import DataRoot
from pipelines.lib.collector_health import collector_health_hour, summarise_attempts
from pipelines.lib.frames import table_schema

H = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
NAIVE_H = H.replace(tzinfo=None)


def _attempt(
    minute: int, target: str, ok: bool, duration: float | None, samples: int, error: str | None = None
) -> dict[str, Any]:
    return {
        "ts": H + dt.timedelta(minutes=minute),
        "site": "tst1",
        "source": "dcgm",
        "producer": "dcgm-scraper@a",
        "target": target,
        "ok": ok,
        "duration_s": duration,
        "samples": samples,
        "error": error,
    }


ATTEMPTS = [
    _attempt(0, "n1:9400", True, 0.2, 100),
    _attempt(10, "n1:9400", False, 2.0, 0, "timed out after 2 s"),
    _attempt(20, "n1:9400", True, 0.4, 100),
    _attempt(30, "n1:9400", False, 0.1, 0, "cannot connect: Connection refused"),
    _attempt(0, "n2:9400", True, 0.3, 50),
    _attempt(30, "n2:9400", True, 0.5, 50),
    # Outside the hour: ignored even if a producer put it in this hour's file.
    _attempt(60, "n2:9400", False, 9.0, 0, "next hour"),
]


def test_two_targets_one_failing_twice_keeps_the_later_error() -> None:
    out = summarise_attempts(collector_frame(ATTEMPTS), H)
    assert out.schema == table_schema("collector_health_hourly")
    rows = {r["target"]: r for r in out.iter_rows(named=True)}
    assert list(rows) == ["n1:9400", "n2:9400"]
    assert rows["n1:9400"] == {
        "hour": NAIVE_H,
        "site": "tst1",
        "source": "dcgm",
        "producer": "dcgm-scraper@a",
        "target": "n1:9400",
        "attempts": 4,
        "failures": 2,
        "ok_ratio": 0.5,
        "samples": 200,
        "duration_mean_s": pytest.approx(0.675),
        "duration_max_s": 2.0,
        "last_ok_at": NAIVE_H + dt.timedelta(minutes=20),
        "last_error": "cannot connect: Connection refused",
        "last_attempt_at": NAIVE_H + dt.timedelta(minutes=30),
    }
    healthy = rows["n2:9400"]
    assert (healthy["attempts"], healthy["failures"], healthy["ok_ratio"], healthy["samples"]) == (2, 0, 1.0, 100)
    assert healthy["duration_mean_s"] == pytest.approx(0.4)
    assert healthy["duration_max_s"] == 0.5
    assert healthy["last_ok_at"] == healthy["last_attempt_at"] == NAIVE_H + dt.timedelta(minutes=30)
    assert healthy["last_error"] is None


def test_a_target_that_never_answered_has_no_last_ok_and_the_same_attempt_counts_once() -> None:
    down = [_attempt(m, "n3:9400", False, None, 0, f"HTTP 50{m // 10}") for m in (0, 10, 20)]
    out = summarise_attempts(collector_frame([*down, *down]), H)  # re-landed batch: identical rows
    assert out.select("attempts", "failures", "ok_ratio", "samples", "last_ok_at", "last_error").rows() == [
        (3, 3, 0.0, 0, None, "HTTP 502")
    ]
    assert out.get_column("duration_mean_s").to_list() == [None]


def test_an_hour_without_attempts_has_no_rows() -> None:
    out = summarise_attempts(collector_frame([]), H)
    assert out.height == 0
    assert out.schema == table_schema("collector_health_hourly")


def test_reads_the_hour_from_the_landing_zone(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    landing = LandingZone(root)
    landing.write_batch("collector_health", "dcgm-scraper@a", collector_frame(ATTEMPTS[:6]))
    landing.write_batch("collector_health", "dcgm-scraper@a", collector_frame(ATTEMPTS[6:]))
    out = collector_health_hour(root, H)
    assert out.select("target", "attempts", "failures").rows() == [("n1:9400", 4, 2), ("n2:9400", 2, 0)]
    nxt = collector_health_hour(root, H + dt.timedelta(hours=1))
    assert nxt.select("target", "attempts", "failures", "last_error").rows() == [("n2:9400", 1, 1, "next hour")]

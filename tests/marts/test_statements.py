"""``aigrid report tenants``: a statement per tenant whose totals equal the marts, readable, and deterministic."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.marts.conftest import MartRun


def _report(run: MartRun, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aigrid", "report", "tenants", "--root", str(run.root.path), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _lines(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_tenant_gets_csv_and_html_whose_totals_equal_the_monthly_mart(mart_run: MartRun, tmp_path: Path) -> None:
    done = _report(mart_run, tmp_path, "--month", "2026-11")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            f"{t}-2026-11{suffix}"
            for t in ("ai-ran", "alpha", "beta", "gamma")
            for suffix in (".csv", "-daily.csv", ".html")
        ]
        + ["index-2026-11.html"]
    )
    with mart_run.serving() as con:
        marts = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT tenant, sum(gpu_hours), sum(gpu_energy_kwh), sum(cost), sum(idle_share_cost) "
                "FROM tenant_usage_monthly GROUP BY tenant"
            ).fetchall()
        }
    for tenant in ("ai-ran", "alpha", "beta", "gamma"):
        totals = {r["item"]: r for r in _lines(tmp_path / f"{tenant}-2026-11.csv") if r["section"] == "total"}
        gpu_hours, kwh, cost, idle_cost = marts[tenant]
        assert float(totals["GPU-hours allocated"]["quantity"]) == pytest.approx(gpu_hours, abs=1e-8)
        assert float(totals["GPU energy (kWh)"]["quantity"]) == pytest.approx(kwh, abs=1e-8)
        assert float(totals["Usage total"]["amount"]) == pytest.approx(cost, abs=1e-6)
        assert float(totals["Amount due"]["amount"]) == pytest.approx(cost + idle_cost, abs=1e-6)
        assert totals["Amount due"]["currency"] == "JPY"
        daily = _lines(tmp_path / f"{tenant}-2026-11-daily.csv")
        assert [d["day"] for d in daily] == ["2026-11-20"]
        assert float(daily[0]["gpu_hours"]) == pytest.approx(gpu_hours, abs=1e-8)
    page = (tmp_path / "gamma-2026-11.html").read_text()
    assert "Gamma University" in page
    assert "<svg" in page
    assert "Amount due" in page
    assert "reserves 1 GPU(s)" in page  # how the tenant is recognised is printed on the statement
    assert "without a measured PUE" not in page  # gamma used GPUs only at 10:00, which had a PUE
    assert "without a measured PUE" in (tmp_path / "alpha-2026-11.html").read_text()  # alpha also at 11:00


def test_alpha_statement_lines_by_site_and_model(mart_run: MartRun, tmp_path: Path) -> None:
    done = _report(mart_run, tmp_path, "--month", "2026-11", "--tenant", "alpha")
    assert done.returncode == 0, done.stderr
    usage = {r["item"]: r for r in _lines(tmp_path / "alpha-2026-11.csv") if r["section"] == "usage"}
    hours = 3 / 7 + 3 / 4 + 35 / 60 + 3 / 7 + 3 / 4 + 1.0
    allocated = usage["GPU-hours allocated"]
    assert (allocated["site"], allocated["model"]) == ("tst1", "NVIDIA H100 80GB HBM3")
    assert float(allocated["quantity"]) == pytest.approx(hours)
    assert float(allocated["rate"]) == pytest.approx(400.0)
    assert float(allocated["amount"]) == pytest.approx(400.0 * hours)
    # Energy is charged on facility kWh for 10:00 (PUE 1.25) and on GPU kWh for 11:00 (no PUE): 0.7 × 1.25 + 0.825.
    energy = usage["Energy charged"]
    assert float(energy["quantity"]) == pytest.approx(0.7 * 1.25 + 0.825)
    assert (float(energy["rate"]), float(energy["amount"])) == (pytest.approx(30.0), pytest.approx(30.0 * 1.7))
    assert float(usage["Facility overhead (PUE 1.250)"]["quantity"]) == pytest.approx(0.7 * 0.25)
    assert sorted(p.name for p in tmp_path.glob("*.html")) == ["alpha-2026-11.html", "index-2026-11.html"]


def test_statements_are_byte_identical_when_re_run(mart_run: MartRun, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert _report(mart_run, first, "--month", "2026-11").returncode == 0
    assert _report(mart_run, second, "--month", "2026-11").returncode == 0
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2026-13"), "month '2026-13' is not YYYY-MM"),
        (("--month", "2026-10"), "no tenant usage in 2026-10"),
        (("--month", "2026-11", "--tenant", "omega"), "no usage for tenant 'omega' in 2026-11; tenants with usage:"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(
    mart_run: MartRun, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = _report(mart_run, tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

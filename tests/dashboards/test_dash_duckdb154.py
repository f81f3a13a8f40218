"""The serving file and every panel query work in DuckDB 1.5.4, the engine the Grafana plugin embeds.

The check runs :mod:`dashboards.verify` (standard library + duckdb only) in a separate virtual environment
with ``duckdb==1.5.4`` from PyPI, cached under ``.aigrid/tools/duckdb-1.5.4/``. It opens the published
serving file read-only there, so a storage-format bump (DuckDB 2.0 files cannot be read by 1.5) or a
function the older engine lacks fails here, not in an operator's Grafana.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dashboards.render import GENERATED_DIR

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DUCKDB = "1.5.4"
TOOL_DIR = REPO / ".aigrid" / "tools" / f"duckdb-{PLUGIN_DUCKDB}"
#: Written last: a venv without it was interrupted and is rebuilt.
COMPLETE = TOOL_DIR / ".complete"
INSTALL_TIMEOUT_S = 300


def _python() -> Path:
    return TOOL_DIR / "bin" / "python"


def _unavailable(reason: str) -> None:
    message = f"cannot prepare duckdb=={PLUGIN_DUCKDB} in {TOOL_DIR}: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(f"{message} (no registry access and no cached venv; CI=true makes this a failure)")


def _ensure_venv() -> Path:
    """The cached venv's python, creating it (venv + pip install) when missing or incomplete."""
    if COMPLETE.exists() and _python().exists():
        return _python()
    shutil.rmtree(TOOL_DIR, ignore_errors=True)
    TOOL_DIR.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TOOL_DIR)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [
                str(_python()),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"duckdb=={PLUGIN_DUCKDB}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(TOOL_DIR, ignore_errors=True)
        _unavailable((exc.stderr or str(exc)).strip().splitlines()[-1] if exc.stderr else str(exc))
    except subprocess.TimeoutExpired:
        shutil.rmtree(TOOL_DIR, ignore_errors=True)
        _unavailable(f"pip did not finish within {INSTALL_TIMEOUT_S} s")
    COMPLETE.write_text(PLUGIN_DUCKDB + "\n")
    return _python()


def _verify_in_plugin_duckdb(serving: Path, dashboards: Path) -> tuple[int, dict[str, Any]]:
    python = _ensure_venv()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(REPO), PYTHONNOUSERSITE="1")
    run = subprocess.run(
        [str(python), "-m", "dashboards.verify", "--json", "--serving", str(serving), "--dashboards", str(dashboards)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.stdout, run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    assert report["duckdb"] == PLUGIN_DUCKDB
    return run.returncode, report


@pytest.mark.slow
def test_every_query_runs_on_the_serving_file_in_the_plugins_duckdb(serving_file: Path, tmp_path: Path) -> None:
    code, report = _verify_in_plugin_duckdb(serving_file, GENERATED_DIR)
    assert report["problems"] == []
    assert code == 0
    # The same queries as in the pipeline's own DuckDB: 4 scenarios × (69 panels + 12 variable queries).
    assert report["queries"] == 324
    # ...and a failure there is reported, naming the panel.
    broken = tmp_path / "aigrid"
    broken.mkdir()
    text = (GENERATED_DIR / "aigrid" / "aigrid-airan.json").read_text(encoding="utf-8")
    text = text.replace("sum(energy_kwh) * 3.6e6", "sum(energy_wh) * 3.6e3")
    (broken / "aigrid-airan.json").write_text(text, encoding="utf-8")
    code, report = _verify_in_plugin_duckdb(serving_file, tmp_path)
    assert code == 1
    assert {p["panel"] for p in report["problems"]} == {
        "panel 'RAN energy efficiency' (id 6)",
        "panel 'RAN over the range' (id 7)",
    }

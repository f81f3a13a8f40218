"""A real Prometheus for tests: TSDB blocks made with ``promtool``, server on 127.0.0.1, always stopped.

The binaries come from ``scripts/fetch-prometheus.sh`` (the Debian package unpacked with ``dpkg-deb -x``
into ``.aigrid/tools/prometheus/``) or from PATH. Without them a test skips with that reason, except in CI
(``CI=true``), where it fails: CI must really run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from collectors.gpu.dcgm.parse import ExpositionParser

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".aigrid" / "tools" / "prometheus" / "usr" / "bin"


def binaries() -> tuple[Path, Path]:
    """(prometheus, promtool), or skip (fail in CI) with the reason."""
    found = []
    for name in ("prometheus", "promtool"):
        local = TOOLS / name
        on_path = shutil.which(name)
        path = local if local.exists() else (Path(on_path) if on_path else None)
        if path is None:
            reason = f"{name} not found in {TOOLS} or on PATH: run scripts/fetch-prometheus.sh"
            if os.environ.get("CI") == "true":
                pytest.fail(reason + " (CI must run the Prometheus tests)")
            pytest.skip(reason)
        found.append(path)
    return found[0], found[1]


def write_openmetrics(path: Path, scrapes: Iterable[tuple[int, str]], extra_labels: str = "") -> int:
    """Write timestamped scrapes (Unix seconds, exposition text) as one OpenMetrics file for promtool.

    promtool wants each family's samples together and a final ``# EOF``; every family is typed ``gauge``
    (OpenMetrics counters must end in ``_total``, and the TSDB keeps no types anyway). Returns the samples.
    """
    families: dict[str, list[str]] = defaultdict(list)
    parser = ExpositionParser("openmetrics")
    count = 0
    for ts, text in scrapes:
        result = parser.parse(text)
        for series, value in zip(result.series, result.values, strict=True):
            labels = ",".join(f'{k}="{v}"' for k, v in series.labels)
            if extra_labels:
                labels = f"{labels},{extra_labels}" if labels else extra_labels
            families[series.name].append(f"{series.name}{{{labels}}} {value!r} {ts}")
            count += 1
    with open(path, "w", encoding="utf-8") as fh:
        for name, lines in families.items():
            fh.write(f"# TYPE {name} gauge\n")
            fh.write("\n".join(lines) + "\n")
        fh.write("# EOF\n")
    return count


def create_blocks(promtool: Path, openmetrics: Path, data: Path) -> None:
    subprocess.run(
        [
            str(promtool),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
            str(openmetrics),
            str(data),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prometheus_server(prometheus: Path, data: Path, *, max_samples: int | None = None) -> Iterator[str]:
    """Run Prometheus on 127.0.0.1 over ``data``; yield its base URL; stop it (bounded) on exit."""
    config = data.parent / f"{data.name}-prometheus.yml"
    config.write_text("global:\n  scrape_interval: 30s\nscrape_configs: []\n")
    port = _free_port()
    args = [
        str(prometheus),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=100y",
    ]
    if max_samples is not None:
        args.append(f"--query.max-samples={max_samples}")
    log = open(data.parent / f"{data.name}-prometheus.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()

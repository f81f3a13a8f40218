"""``aigrid collect nvml``: the NVML agent of one GPU node, landing GPU rows until stopped (or ``--once``).

Exit codes: 0 after a clean stop (SIGINT/SIGTERM: the last batch is landed first), 2 for a usage mistake,
3 when there is no NVIDIA driver or NVML library on the node, 4 when a driver upgrade needs the agent restarted
(the supervisor restarts it with the new library), 1 when NVML refuses to start for another reason.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import threading
import time
import zlib
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click
import pynvml
from rich.console import Console
from rich.table import Table

from aigrid.cli.base import collect, default_root
from collectors.gpu.nvml import errors
from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.fake import demo_node
from collectors.gpu.nvml.loop import EXIT_RESTART, LoopConfig, RunResult, run
from collectors.gpu.nvml.procmap import PodListing, ProcessMapper
from collectors.landing import LandingZone

EXIT_NO_DRIVER = 3
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Duration(click.ParamType[float, Any]):
    """``10s``, ``500ms``, ``1m``, ``1h`` or plain seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            match = _DURATION.match(str(value))
            if not match:
                self.fail(f"{value!r} is not a duration such as 10s, 500ms or 1m", param, ctx)
            seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
        if seconds <= 0:
            self.fail("must be more than zero", param, ctx)
        return seconds


class AgentExit(click.ClickException):
    """One line on stderr, no traceback; exit code 1 unless a subclass says otherwise."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.secho(f"error: {self.format_message()}", fg="red", err=True)


class NoDriverExit(AgentExit):
    exit_code = EXIT_NO_DRIVER


class RestartExit(AgentExit):
    exit_code = EXIT_RESTART


def default_node() -> str:
    """``$NODE_NAME`` (as a Kubernetes DaemonSet sets it from the downward API), else the short host name."""
    return os.environ.get("NODE_NAME") or socket.gethostname().split(".")[0]


@collect.command("nvml")
@click.option("--site", required=True, help="Site code stamped on every row (e.g. tyo1).")
@click.option("--interval", type=Duration(), default="10s", show_default=True, help="Sampling interval.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_root,
    show_default="$AIGRID_ROOT or .aigrid/demo",
    help="Data root to land into (landing/gpu, gpu_health, collector_health).",
)
@click.option("--once", is_flag=True, help="Take one sample, land it, print it and exit.")
@click.option(
    "--proc-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("/proc"),
    show_default=True,
    help="The host's /proc, where <pid>/cgroup is read: /proc with hostPID, or the host's mounted elsewhere.",
)
@click.option(
    "--pods-json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="`kubectl get pods -o json` of this node's pods, to name pods; re-read when it changes.",
)
@click.option("--node", default=default_node, show_default="$NODE_NAME or the host name", help="Node name.")
@click.option(
    "--backend",
    type=click.Choice(["nvml", "fake"]),
    default="nvml",
    show_default=True,
    help="nvml: the NVIDIA driver; fake: a built-in 8-GPU H100 node, to try the agent without a GPU.",
)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True
)
def collect_nvml(
    site: str,
    interval: float,
    out: Path,
    once: bool,
    proc_root: Path,
    pods_json: Path | None,
    node: str,
    backend: str,
    log_level: str,
) -> None:
    """Sample every GPU and MIG instance of this node through NVML and land the rows.

    Per GPU: utilisation, memory, power (average and instant), energy counter, temperatures, clocks,
    clocks-event reasons, P-state, power limit, ECC and row remapping, PCIe and NVLink throughput, GPM
    activity on Hopper+; per process: the pod or Slurm job holding it. Xid and other critical events arrive
    through NVML's event set. Samples fall on whole multiples of the interval; batches land at least every
    minute and at every hour boundary, and on SIGINT/SIGTERM before exit.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    pods = PodListing(pods_json) if pods_json is not None else None
    nvml: Any = pynvml if backend == "nvml" else demo_node(zlib.crc32(node.encode()) & 0xFFFF, clock=time.time)
    agent = NvmlAgent(
        nvml,
        site=site,
        node=node,
        interval_s=interval,
        processes=ProcessMapper(proc_root, pods),
        watch_events=not once,
    )
    landing = LandingZone(out)
    stop = threading.Event()
    result = _run_until_signalled(agent, landing, LoopConfig(interval, once=once), stop, pods)
    if once:
        _print_sample(result)
    click.echo(
        f"{agent.producer}: {result.samples} sample(s), {result.gpu_rows} GPU rows, {result.health_rows} health "
        f"event(s) in {result.files} file(s) under {landing.root.landing}",
        err=not once,
    )
    if result.exit_code == EXIT_RESTART:
        mismatch = errors.describe_library_error(errors.MISMATCH)
        raise RestartExit(f"{mismatch}; restart the agent to load the new library")


def _run_until_signalled(
    agent: NvmlAgent, landing: LandingZone, config: LoopConfig, stop: threading.Event, pods: PodListing | None
) -> RunResult:
    """Run with SIGINT/SIGTERM setting ``stop`` (the loop lands its last batch and closes NVML)."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("aigrid.nvml").info("%s: landing the last batch and stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(agent, landing, config, stop, pods=pods)
    except errors.NvmlUnavailableError as exc:
        raise (NoDriverExit if exc.code in errors.NO_DRIVER else AgentExit)(str(exc)) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_sample(result: RunResult) -> None:
    """The one sample of ``--once`` as a table: what an operator checks first on a node."""
    table = Table(title="NVML sample", title_justify="left")
    for column in ("GPU", "MIG", "model", "util %", "power W", "energy kJ", "temp °C", "mem GiB", "holders"):
        table.add_column(column, justify="left" if column in ("MIG", "model", "holders") else "right")
    for row in result.last_rows:
        instance = row.get("gpu_instance_id")
        used = _fmt(row.get("mem_used_bytes"), 2**-30, "{:.1f}")
        table.add_row(
            str(row["gpu_index"]),
            "" if instance is None else f"{instance}: {row.get('mig_profile') or '?'}",
            str(row.get("model") or "").removeprefix("NVIDIA "),
            _fmt(row.get("util_ratio"), 100, "{:.0f}"),
            _fmt(row.get("power_w"), 1, "{:.1f}"),
            _fmt(row.get("energy_counter_j"), 1e-3, "{:,.0f}"),
            _fmt(row.get("temp_c"), 1, "{:.0f}"),
            f"{used}/{_fmt(row.get('mem_total_bytes'), 2**-30, '{:.0f}')}",
            ", ".join(_holder(h) for h in row.get("holders") or []),
        )
    Console(width=max(Console().width, 120)).print(table)


def _fmt(value: float | None, scale: float, pattern: str) -> str:
    return "–" if value is None else pattern.format(value * scale)


def _holder(h: dict[str, Any]) -> str:
    if h.get("namespace"):
        return f"{h['namespace']}/{h['pod']}"
    if h.get("hpc_job"):
        return f"job {h['hpc_job']}"
    return f"pid {h['pid']}"

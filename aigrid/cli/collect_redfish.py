"""``aigrid collect redfish``: poll a BMC, rack PDU or DCIM Redfish service and land its power and energy."""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import click
from rich.console import Console
from rich.table import Table

from aigrid.cli.base import collect, landing_root_option
from collectors.errors import InputError
from collectors.facility.redfish_session import (
    DEFAULT_PASSWORD_ENV,
    PollResult,
    RedfishPoller,
    RedfishTarget,
    password_from_env,
)
from collectors.landing import safe_producer
from collectors.layout import DataRoot

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``60s``, ``5m``, ``1h``, ``90`` (seconds) → seconds."""
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration like 30s, 5m or 1h")
    return float(match.group(1)) * _SCALE[match.group(2)]


def normalise_endpoint(url: str) -> str:
    """``https://bmc/redfish/v1/`` → ``https://bmc``: the client adds the service root itself."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{url!r} is not an http(s) URL such as https://bmc.example")
    if parts.username or parts.password:
        raise click.BadParameter("put the user in --username and the password in an environment variable, not the URL")
    path = re.sub(r"/redfish(/v1)?/?$", "", parts.path.rstrip("/"))
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@collect.command("redfish")
@click.option("--endpoint", required=True, help="Base URL of the Redfish service, e.g. https://pdu-a1.example.")
@click.option("--site", required=True, help="Site the readings belong to.")
@click.option("--username", help="Redfish user; without it the service is read anonymously.")
@click.option(
    "--password-env",
    default=DEFAULT_PASSWORD_ENV,
    show_default=True,
    help="Environment variable holding the password (never pass it on the command line).",
)
@click.option("--auth", type=click.Choice(["session", "basic"]), default="session", show_default=True)
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate (lab BMCs only).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CA bundle to trust.")
@click.option("--interval", default="60s", show_default=True, help="Time between polls (30s, 5m…).")
@click.option("--timeout", default="10s", show_default=True, help="Per-request timeout.")
@click.option("--once", is_flag=True, help="Poll once, land, print a summary and exit.")
@click.option("--list", "show_list", is_flag=True, help="Print every meter id found (for writing meters.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="List every link that could not be read, not just the first few.")
@click.option("--producer", help="Producer name on the landed rows [default: redfish-<host>].")
@click.option(
    "--meter-prefix",
    default="",
    help="Put this in front of every meter id (e.g. 'pdu-a1:') when several services report for one site.",
)
@landing_root_option
def collect_redfish(
    endpoint: str,
    site: str,
    username: str | None,
    password_env: str,
    auth: str,
    insecure: bool,
    ca_file: Path | None,
    interval: str,
    timeout: str,
    once: bool,
    show_list: bool,
    verbose: bool,
    producer: str | None,
    meter_prefix: str,
    out: Path,
) -> None:
    """Poll a Redfish service and land every power and energy reading it offers.

    Reads rack PDU mains, branches, outlets and outlet groups, server power supplies, chassis environment
    metrics and power/energy sensors (the deprecated Chassis/Power only as a fallback). Each value lands
    in the facility landing zone under the meter id '<resource @odata.id>#<property>'.
    """
    base = normalise_endpoint(endpoint)
    interval_s, timeout_s = parse_duration(interval), parse_duration(timeout)
    if interval_s < 1:
        raise click.BadParameter("the interval must be at least 1s", param_hint="--interval")
    if insecure and ca_file:
        raise click.BadParameter("--insecure and --ca-file contradict each other", param_hint="--insecure")
    password = password_from_env(password_env) if username else None
    target = RedfishTarget(
        endpoint=base,
        username=username,
        password=password,
        auth="basic" if auth == "basic" else "session",
        insecure=insecure,
        ca_file=ca_file,
        timeout_s=timeout_s,
    )
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if insecure:
        console.print(f"[yellow]warning:[/] TLS certificate of {target.host} is not verified (--insecure)")
    if username and base.startswith("http://") and target.host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] credentials for {target.host} travel unencrypted over http")
    name = producer or safe_producer(f"redfish-{target.host}")
    stop = threading.Event()

    def report(result: PollResult) -> None:
        _print_poll(console, result, verbose=verbose)
        if show_list and result.walk is not None:
            _print_meters(result)
        if once and not result.ok:
            raise InputError(result.error or "Redfish poll failed")

    previous = signal.getsignal(signal.SIGTERM)

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    try:
        with RedfishPoller(
            target, root=DataRoot.at(out), site=site, producer=name, meter_prefix=meter_prefix
        ) as poller:
            if not once:
                console.print(f"polling {base} every {interval_s:g}s into {out} (Ctrl-C to stop)")
            try:
                poller.run(interval_s=interval_s, stop=stop, on_poll=report, max_polls=1 if once else None)
            except KeyboardInterrupt:
                console.print("stopped")
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


def _print_poll(console: Console, result: PollResult, *, verbose: bool) -> None:
    stamp = f"{result.ts:%Y-%m-%d %H:%M:%SZ}"
    if not result.ok:
        console.print(f"{stamp} [red]poll failed[/]: {result.error}")
        return
    walk = result.walk
    assert walk is not None
    console.print(
        f"{stamp} {result.readings} readings from {walk.resources} resources in {result.duration_s:.2f}s, "
        f"{len(result.files)} file(s) landed, {len(walk.problems)} problem(s)"
    )
    shown = walk.problems if verbose else walk.problems[:3]
    for problem in shown:
        console.print(f"  [dim]not read:[/] {problem}")
    if len(shown) < len(walk.problems):
        console.print(f"  [dim]… and {len(walk.problems) - len(shown)} more (-v lists them)[/]")


def _print_meters(result: PollResult) -> None:
    assert result.walk is not None
    table = Table("meter id", "kind", "where", "energy kWh", "power W", "reset at")
    for r in result.walk.readings:
        table.add_row(
            r.meter_id,
            r.kind,
            r.context,
            "" if r.energy_kwh is None else f"{r.energy_kwh:g}",
            "" if r.power_w is None else f"{r.power_w:g}",
            "" if r.register_reset_at is None else f"{r.register_reset_at:%Y-%m-%dT%H:%M:%SZ}",
        )
    Console(highlight=False, width=200).print(table)

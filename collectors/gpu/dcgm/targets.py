"""Scrape targets: from ``--targets host:port,…`` or a targets file.

Targets files come in the two shapes operators already have:

- **Prometheus file_sd** (``.json``, ``.yaml``, ``.yml``): a list of groups
  ``{"targets": ["10.0.0.1:9400", …], "labels": {"site": "tyo1", "node": "dgx-01"}}``, the format of
  Prometheus' ``file_sd_configs``, so the file a site already feeds Prometheus can be reused;
- **plain text**: one target per line, optionally followed by ``key=value`` labels
  (``10.0.0.1:9400 site=tyo1 node=dgx-01``); ``#`` starts a comment.

Labels understood: ``site`` (else ``--site``), ``node`` (the node name when the exporter prints no
hostname label; default: the target's host), ``dcgm_generation`` (``legacy``, ``4.9`` or ``1.x``: force the
naming generation when auto-detection cannot tell). A target is ``host:port`` (``/metrics`` is implied) or a
full ``http(s)://`` URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yarl import URL

from collectors.errors import InputError
from collectors.gpu.dcgm.names import Generation

DEFAULT_PATH = "/metrics"


@dataclass(frozen=True)
class Target:
    """One dcgm-exporter endpoint and the site it belongs to."""

    address: str
    url: str
    site: str
    node_hint: str
    generation: Generation | None = None


def make_target(
    address: str,
    labels: Mapping[str, Any] | None = None,
    *,
    default_site: str | None,
    origin: str | None = None,
    line: int | None = None,
) -> Target:
    labels = dict(labels or {})
    address = address.strip()
    if not address:
        raise InputError("empty target", file=origin, line=line)
    raw = address if "://" in address else f"http://{address}"
    try:
        url = URL(raw)
        port = url.port
    except (ValueError, TypeError) as exc:
        raise InputError(f"target {address!r} is not host:port or a URL: {exc}", file=origin, line=line) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InputError(f"target {address!r} is not an http(s) endpoint", file=origin, line=line)
    if "://" not in address and url.explicit_port is None:
        raise InputError(f"target {address!r} has no port (dcgm-exporter listens on :9400)", file=origin, line=line)
    if port is None or not 0 < port < 65536:
        raise InputError(f"target {address!r} has an invalid port", file=origin, line=line)
    if url.path in ("", "/"):
        url = url.with_path(DEFAULT_PATH)
    site = str(labels.get("site") or default_site or "")
    if not site:
        raise InputError(f"target {address!r} has no site: pass --site or give it a site label", file=origin, line=line)
    generation = labels.get("dcgm_generation")
    try:
        gen = Generation(str(generation)) if generation else None
    except ValueError:
        choices = ", ".join(g.value for g in Generation)
        raise InputError(
            f"dcgm_generation {generation!r} of {address!r} is not one of {choices}",
            file=origin,
            line=line,
            field="dcgm_generation",
        ) from None
    node = str(labels.get("node") or url.host)
    return Target(address=address, url=str(url), site=site, node_hint=node, generation=gen)


def parse_target_list(spec: str, *, default_site: str | None) -> list[Target]:
    """``host:port,host:port`` from the command line."""
    targets = [make_target(part, default_site=default_site, origin="--targets") for part in spec.split(",") if part]
    return _unique(targets, "--targets")


def load_targets_file(path: Path, *, default_site: str | None) -> list[Target]:
    """Targets from a Prometheus file_sd file (JSON/YAML) or a plain text list."""
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read targets file: {exc.strerror}", file=origin) from None
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        targets = _file_sd(text, origin, default_site, is_json=path.suffix.lower() == ".json")
    else:
        targets = _plain(text, origin, default_site)
    if not targets:
        raise InputError("no targets in the file", file=origin)
    return _unique(targets, origin)


def _file_sd(text: str, origin: str, default_site: str | None, *, is_json: bool) -> list[Target]:
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=origin, line=exc.lineno) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {exc}", file=origin, line=mark.line + 1 if mark else None) from None
    if not isinstance(data, list):
        raise InputError("a file_sd targets file is a list of {targets: [...], labels: {...}} groups", file=origin)
    out: list[Target] = []
    for i, group in enumerate(data):
        where = f"group {i + 1}"
        if not isinstance(group, dict) or not isinstance(group.get("targets"), list):
            raise InputError(f"{where} has no 'targets' list", file=origin, field="targets")
        labels = group.get("labels") or {}
        if not isinstance(labels, dict):
            raise InputError(f"{where}: 'labels' is not a mapping", file=origin, field="labels")
        for address in group["targets"]:
            out.append(make_target(str(address), labels, default_site=default_site, origin=f"{origin} ({where})"))
    return out


def _plain(text: str, origin: str, default_site: str | None) -> list[Target]:
    out: list[Target] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        address, *pairs = line.split()
        labels: dict[str, str] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise InputError(f"expected key=value after the target, got {pair!r}", file=origin, line=n)
            labels[key] = value
        out.append(make_target(address, labels, default_site=default_site, origin=origin, line=n))
    return out


def _unique(targets: Iterable[Target], origin: str) -> list[Target]:
    seen: dict[str, Target] = {}
    for t in targets:
        if t.url in seen:
            raise InputError(f"target {t.address!r} is listed twice", file=origin)
        seen[t.url] = t
    return list(seen.values())

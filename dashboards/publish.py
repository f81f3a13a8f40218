"""Upload the generated dashboards to a running Grafana (``aigrid dashboards publish``) with grafana-client.

File provisioning is the main delivery path; this is for a Grafana that cannot mount files (a managed
instance, a shared server). Folders are created (or renamed) by their fixed uid, and every dashboard is
posted with ``overwrite: true`` to ``/api/dashboards/db``, so re-publishing replaces by uid and never
duplicates. The service-account token comes from an environment variable and is never printed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException

from collectors.errors import InputError
from dashboards.catalogue import FOLDERS
from dashboards.render import GENERATED_DIR

DEFAULT_TOKEN_ENV = "GRAFANA_TOKEN"
TIMEOUT_S = 10.0


class PublishError(RuntimeError):
    """Grafana refused a request; the message names the request and Grafana's answer (never the token)."""


@dataclass
class PublishResult:
    folders_created: list[str] = field(default_factory=list)
    folders_renamed: list[str] = field(default_factory=list)
    dashboards: list[str] = field(default_factory=list)


def token_from_env(name: str = DEFAULT_TOKEN_ENV) -> str:
    token = os.environ.get(name, "").strip()
    if not token:
        raise InputError(f"set {name} to a Grafana service-account token (Editor role or better)")
    return token


def _check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"{url!r} is not an http(s) URL of a Grafana server", field="--url")
    if parsed.username or parsed.password:
        raise InputError("put no credentials in the URL; the token comes from the environment", field="--url")


def _load(source: Path) -> dict[str, list[tuple[Path, dict[str, Any]]]]:
    """Dashboards by folder uid, from ``<source>/<folder uid>/*.json``."""
    titles = {f.uid: f.title for f in FOLDERS}
    out: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for folder_dir in sorted(p for p in source.iterdir() if p.is_dir()) if source.is_dir() else []:
        if folder_dir.name not in titles:
            raise InputError(f"folder {folder_dir.name!r} is not an aigrid folder ({', '.join(titles)})", file=source)
        for path in sorted(folder_dir.glob("*.json")):
            try:
                dashboard = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise InputError(f"not JSON: {exc.msg}", file=path, line=exc.lineno) from exc
            if not isinstance(dashboard, dict) or not dashboard.get("uid"):
                raise InputError("not a dashboard with a uid", file=path)
            out.setdefault(folder_dir.name, []).append((path, dashboard))
    if not out:
        raise InputError("no dashboards found; run `aigrid dashboards build` first", file=source)
    return out


def _ensure_folder(api: Any, uid: str, title: str, result: PublishResult) -> None:
    try:
        existing = api.folder.get_folder(uid)
    except GrafanaException as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)
        result.folders_created.append(uid)
        return
    if existing.get("title") != title:
        api.folder.update_folder(uid, title=title, overwrite=True)
        result.folders_renamed.append(uid)


def publish(
    url: str,
    token: str,
    source: Path = GENERATED_DIR,
    *,
    message: str = "aigrid dashboards publish",
    timeout: float = TIMEOUT_S,
) -> PublishResult:
    """Create the folders and upload every dashboard under ``source``; raises :class:`PublishError`."""
    _check_url(url)
    by_folder = _load(source)
    titles = {f.uid: f.title for f in FOLDERS}
    # A string credential becomes a Bearer-token auth; grafana-client's element methods are untyped (Any).
    api: Any = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    result = PublishResult()
    action = "connecting"
    try:
        for folder_uid, items in by_folder.items():
            action = f"creating folder {folder_uid!r}"
            _ensure_folder(api, folder_uid, titles[folder_uid], result)
            for path, dashboard in items:
                action = f"uploading {path.name}"
                payload = {k: v for k, v in dashboard.items() if k != "id"}
                api.dashboard.update_dashboard(
                    {"dashboard": payload, "folderUid": folder_uid, "overwrite": True, "message": message}
                )
                result.dashboards.append(str(dashboard["uid"]))
    except GrafanaException as exc:
        raise PublishError(f"{url}: Grafana answered {exc.status_code} while {action}: {exc.message}") from None
    except OSError as exc:  # connection refused, DNS, TLS: niquests' errors derive from IOError
        raise PublishError(f"{url}: cannot reach Grafana while {action} ({type(exc).__name__})") from None
    finally:
        api.client.s.close()
    return result

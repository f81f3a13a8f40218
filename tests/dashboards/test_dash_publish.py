"""Publishing to Grafana's HTTP API, against a local server implementing the endpoints publish calls."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from collectors.errors import InputError
from dashboards.generate import build
from dashboards.publish import PublishError, publish, token_from_env

TOKEN = "glsa_test_0123456789abcdef"


@dataclass
class FakeGrafana:
    """Folders and dashboards by uid, and every request as (method, path, authorization, body)."""

    token: str = TOKEN
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, Any]] = field(default_factory=list)


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            auth = self.headers.get("Authorization")
            state.requests.append((method, self.path, auth, body))
            if auth != f"Bearer {state.token}":
                self._reply(401, {"message": "Unauthorized"})
                return
            folder = re.fullmatch(r"/api/folders/([\w-]+)", self.path)
            if method == "GET" and folder:
                uid = folder.group(1)
                if uid in state.folders:
                    self._reply(200, state.folders[uid])
                else:
                    self._reply(404, {"message": "folder not found", "status": "not-found"})
            elif method == "POST" and self.path == "/api/folders":
                assert body is not None
                state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "version": 1}
                self._reply(200, state.folders[body["uid"]])
            elif method == "PUT" and folder:
                assert body is not None
                state.folders[folder.group(1)]["title"] = body["title"]
                self._reply(200, state.folders[folder.group(1)])
            elif method == "POST" and self.path == "/api/dashboards/db":
                assert body is not None
                uid = body["dashboard"]["uid"]
                if uid in state.dashboards and not body.get("overwrite"):
                    self._reply(412, {"message": "A dashboard with the same uid already exists"})
                    return
                version = state.dashboards.get(uid, {}).get("version", 0) + 1
                state.dashboards[uid] = {"version": version, "folderUid": body["folderUid"], "body": body}
                self._reply(200, {"status": "success", "uid": uid, "version": version, "url": f"/d/{uid}/x"})
            else:
                self._reply(404, {"message": "not found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafana]]:
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    build(tmp_path)
    return tmp_path


def test_publish_creates_folders_and_uploads_every_dashboard(grafana: tuple[str, FakeGrafana], generated: Path) -> None:
    url, state = grafana
    result = publish(url, TOKEN, generated, timeout=5)
    assert result.folders_created == ["aigrid", "aigrid-health"]
    assert result.dashboards == [
        "aigrid-airan",
        "aigrid-energy",
        "aigrid-fleet",
        "aigrid-tenants",
        "aigrid-gpu-health",
        "aigrid-pipeline",
    ]
    assert [(m, p) for m, p, _, _ in state.requests] == [
        ("GET", "/api/folders/aigrid"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * 4,
        ("GET", "/api/folders/aigrid-health"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * 2,
    ]
    assert {auth for _, _, auth, _ in state.requests} == {f"Bearer {TOKEN}"}
    assert state.folders["aigrid-health"]["title"] == "AI grid · health"
    body = state.dashboards["aigrid-fleet"]["body"]
    assert (body["folderUid"], body["overwrite"], body["message"]) == ("aigrid", True, "aigrid dashboards publish")
    committed = json.loads((generated / "aigrid" / "aigrid-fleet.json").read_text(encoding="utf-8"))
    assert body["dashboard"] == committed
    assert state.dashboards["aigrid-pipeline"]["folderUid"] == "aigrid-health"


def test_publishing_again_overwrites_by_uid_and_renames_folders(
    grafana: tuple[str, FakeGrafana], generated: Path
) -> None:
    url, state = grafana
    publish(url, TOKEN, generated, timeout=5)
    state.folders["aigrid"]["title"] = "renamed by hand"
    state.requests.clear()
    again = publish(url, TOKEN, generated, timeout=5)
    assert again.folders_created == []
    assert again.folders_renamed == ["aigrid"]
    assert state.folders["aigrid"]["title"] == "AI grid"
    assert sorted(state.dashboards) == sorted(again.dashboards)
    assert {d["version"] for d in state.dashboards.values()} == {2}
    assert ("PUT", "/api/folders/aigrid") in [(m, p) for m, p, _, _ in state.requests]


def test_a_refused_token_is_reported_without_the_token(grafana: tuple[str, FakeGrafana], generated: Path) -> None:
    url, state = grafana
    with pytest.raises(PublishError) as caught:
        publish(url, "glsa_wrong_secret", generated, timeout=5)
    message = str(caught.value)
    assert "answered 401 while creating folder 'aigrid'" in message
    assert "glsa_wrong_secret" not in message
    assert state.dashboards == {}


def test_an_unreachable_grafana_is_one_error(generated: Path) -> None:
    with pytest.raises(PublishError, match="cannot reach Grafana while creating folder 'aigrid'"):
        publish("http://127.0.0.1:9", TOKEN, generated, timeout=2)


def test_user_mistakes_are_input_errors(tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    with pytest.raises(InputError, match="set GRAFANA_TOKEN"):
        token_from_env()
    monkeypatch.setenv("GRAFANA_TOKEN", " t0k ")
    assert token_from_env() == "t0k"
    with pytest.raises(InputError, match="not an http"):
        publish("ftp://grafana", TOKEN, generated)
    with pytest.raises(InputError, match="no credentials in the URL"):
        publish("http://admin:admin@127.0.0.1:3000", TOKEN, generated)
    with pytest.raises(InputError, match="no dashboards found"):
        publish("http://127.0.0.1:3000", TOKEN, tmp_path / "empty")
    (generated / "aigrid" / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match=r"broken\.json:line 1"):
        publish("http://127.0.0.1:3000", TOKEN, generated)

"""A local stand-in for the few Grafana HTTP endpoints ``publish`` calls, recording every request."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

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
    """A fake Grafana on 127.0.0.1 (a free port), stopped after the test."""
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

"""A small Redfish service for tests: serves DMTF mockup folders on 127.0.0.1 with sessions and basic auth.

Mockups are in the short form (the copied folders lack the ``/redfish`` resource): ``/redfish/v1/<path>``
is ``<folder>/<path>/index.json``. Tests can add or replace resources (``overlays``), make existing ones
answer 404 (``hidden``) and require credentials (``users``); the server records every request so a test
can check that the session was deleted and that no password travelled in a URL.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

SESSIONS = "/redfish/v1/SessionService/Sessions"
OPEN_PATHS = {"/redfish", "/redfish/v1"}


def _norm(path: str) -> str:
    return urlsplit(path).path.rstrip("/") or "/"


class MockupServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        folder: Path,
        *,
        users: dict[str, str] | None = None,
        overlays: dict[str, dict[str, Any]] | None = None,
        hidden: set[str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scheme = "https" if tls else "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.folder = folder
        self.users = users or {}
        self.overlays = {_norm(k): v for k, v in (overlays or {}).items()}
        self.hidden = {_norm(h) for h in (hidden or set())}
        self.sessions: dict[str, str] = {}  # token -> session uri
        self.deleted: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def resource(self, path: str) -> dict[str, Any] | None:
        path = _norm(path)
        if path in self.overlays:
            return self.overlays[path]
        if path in self.hidden:
            return None
        if path == "/redfish":
            return {"v1": "/redfish/v1/"}
        if path == SESSIONS:
            members = [{"@odata.id": uri} for uri in self.sessions.values()]
            return {"@odata.id": SESSIONS, "Members": members, "Members@odata.count": len(members)}
        if not (path == "/redfish/v1" or path.startswith("/redfish/v1/")):
            return None
        rel = path.removeprefix("/redfish/v1").strip("/")
        file = self.folder / rel / "index.json" if rel else self.folder / "index.json"
        if not file.is_file():
            return None
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return data


class _Handler(BaseHTTPRequestHandler):
    server: MockupServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read server.requests
        return

    def _send(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("OData-Version", "4.0")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"code": "Base.1.0.GeneralError", "message": message}})

    def _authorised(self) -> bool:
        if not self.server.users:
            return True
        token = self.headers.get("X-Auth-Token")
        if token and token in self.server.sessions:
            return True
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return self.server.users.get(user) == password
        return False

    def _record(self) -> str:
        path = _norm(self.path)
        with self.server.lock:
            self.server.requests.append((self.command, self.path))
        return path

    def do_GET(self) -> None:
        path = self._record()
        if path not in OPEN_PATHS and not self._authorised():
            self._error(401, "authentication required")
            return
        body = self.server.resource(path)
        if body is None:
            self._error(404, f"{path} not found")
        else:
            self._send(200, body)

    def do_POST(self) -> None:
        path = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if path != SESSIONS:
            self._error(405, "only session creation is supported")
            return
        user, password = payload.get("UserName"), payload.get("Password")
        if not self.server.users or self.server.users.get(user) != password:
            self._error(401, "invalid user name or password")
            return
        token = secrets.token_hex(16)
        uri = f"{SESSIONS}/{len(self.server.sessions) + len(self.server.deleted) + 1}"
        self.server.sessions[token] = uri
        body = {"@odata.id": uri, "Id": uri.rsplit("/", 1)[-1], "UserName": user}
        self._send(201, body, {"X-Auth-Token": token, "Location": uri})

    def do_DELETE(self) -> None:
        path = self._record()
        token = self.headers.get("X-Auth-Token")
        if not token or self.server.sessions.get(token) != path:
            self._error(401, "not your session")
            return
        del self.server.sessions[token]
        self.server.deleted.append(path)
        self._send(204)


@pytest.fixture
def redfish_server() -> Iterator[Callable[..., MockupServer]]:
    """Factory: ``redfish_server(folder, users=…, overlays=…, hidden=…)`` → a running server, stopped after."""
    started: list[tuple[MockupServer, threading.Thread]] = []

    def start(folder: Path, **options: Any) -> MockupServer:
        server = MockupServer(folder, **options)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    try:
        yield start
    finally:
        for server, thread in started:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@pytest.fixture
def redfish_samples(samples: Path) -> Path:
    return samples / "redfish"


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A throw-away certificate for 127.0.0.1: (PEM path a client can trust, server context)."""
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography (in the dev lock) makes the test cert")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aigrid test BMC")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context

"""Stand-ins for dcgm-exporter on 127.0.0.1, one listening port per target, with injectable faults.

dcgm-exporter needs a GPU and DCGM; the scraper's tests, its benchmark and the simulator's live mode need
many endpoints that answer like it (``text/plain; version=0.0.4``, optional gzip) and endpoints that fail
the ways real ones do: slow answers past the scrape timeout, HTML error pages from an ingress, the wrong
content type, bodies cut off mid-transfer, HTTP 5xx. Built on ``aiohttp.web``; every socket binds 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType

from aiohttp import encode_basic_auth, web

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Body = str | Callable[[int], str]


class Fault(StrEnum):
    SLOW = "slow"  # answers after ``slow_s``
    HTML = "html"  # 502 with an HTML page, as an ingress or proxy does
    WRONG_TYPE = "wrong_type"  # 200 with application/json
    TRUNCATED = "truncated"  # Content-Length promises more than is sent, then the connection closes
    SERVER_ERROR = "server_error"  # 500 with a plain-text message
    NO_NEWLINE = "no_newline"  # body whose last line lacks its line feed (cut off by the sender)


@dataclass
class _Endpoint:
    body: Body
    fault: Fault | None = None
    scrapes: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    cache: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)


class FakeExporter:
    """Serve ``bodies[i]`` on port ``ports[i]``; a body may be a function of the scrape count."""

    def __init__(
        self,
        bodies: Sequence[Body],
        *,
        faults: Mapping[int, Fault] | None = None,
        slow_s: float = 5.0,
        static: bool = False,
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        self._endpoints = [_Endpoint(b, (faults or {}).get(i)) for i, b in enumerate(bodies)]
        self.slow_s = slow_s
        self.static = static
        self._auth = None if basic_auth is None else encode_basic_auth(*basic_auth)
        self._by_port: dict[int, _Endpoint] = {}
        self._runner: web.AppRunner | None = None
        self.addresses: list[str] = []

    def scrapes(self, index: int) -> int:
        return self._endpoints[index].scrapes

    def last_headers(self, index: int) -> dict[str, str]:
        """Headers of the latest request to endpoint ``index``."""
        return self._endpoints[index].last_headers

    async def start(self) -> list[str]:
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        # A short shutdown: a stand-in holding a deliberately slow answer must not hold up the test that stops it.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        for endpoint in self._endpoints:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            port = sock.getsockname()[1]
            self._by_port[port] = endpoint
            await web.SockSite(self._runner, sock).start()
            self.addresses.append(f"127.0.0.1:{port}")
        return self.addresses

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeExporter:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _payload(self, endpoint: _Endpoint) -> tuple[bytes, bytes]:
        key = 0 if self.static else endpoint.scrapes
        cached = endpoint.cache.get(key)
        if cached is None:
            text = endpoint.body if isinstance(endpoint.body, str) else endpoint.body(endpoint.scrapes)
            raw = text.encode("utf-8")
            cached = (raw, gzip.compress(raw, compresslevel=1))
            endpoint.cache = {key: cached}
        return cached

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        endpoint = self._by_port[request.transport.get_extra_info("sockname")[1]]
        endpoint.last_headers = dict(request.headers)
        if self._auth is not None and request.headers.get("Authorization") != self._auth:
            return web.Response(status=401, text="Unauthorized", headers={"WWW-Authenticate": "Basic"})
        raw, packed = self._payload(endpoint)
        endpoint.scrapes += 1
        fault = endpoint.fault
        if fault is Fault.SLOW:
            await asyncio.sleep(self.slow_s)
        elif fault is Fault.HTML:
            html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return web.Response(status=502, text=html, content_type="text/html")
        elif fault is Fault.WRONG_TYPE:
            return web.Response(text='{"status": "ok"}', content_type="application/json")
        elif fault is Fault.SERVER_ERROR:
            return web.Response(status=500, text="error gathering metrics: DCGM not initialised")
        elif fault is Fault.NO_NEWLINE:
            raw = raw.rstrip(b"\n")[:-2]
            packed = gzip.compress(raw, compresslevel=1)
        elif fault is Fault.TRUNCATED:
            resp = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
            resp.content_length = len(raw)
            await resp.prepare(request)
            await resp.write(raw[: len(raw) // 2])
            if request.transport is not None:
                request.transport.close()
            return resp
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=packed, headers={"Content-Type": CONTENT_TYPE, "Content-Encoding": "gzip"})
        return web.Response(body=raw, headers={"Content-Type": CONTENT_TYPE})

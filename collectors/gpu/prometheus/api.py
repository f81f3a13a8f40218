"""A small client for the Prometheus HTTP API (``/api/v1``), as the backfill needs it.

Errors are classified the way Prometheus reports them (https://prometheus.io/docs/prometheus/latest/querying/api/):
HTTP 400 ``bad_data`` (a bad query or parameters, e.g. more than 11,000 points per series), 422 ``execution``
(e.g. "query processing would load too many samples into memory", the ``--query.max-samples`` limit),
503 / 5xx / timeouts (overloaded or restarting: retried with back-off). The two limits the backfill can work
around by asking for less at once raise :class:`TooMuchDataError`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from collectors.errors import InputError


class PrometheusError(Exception):
    """Prometheus answered with an error (or not at all) after the retries."""


class TooMuchDataError(PrometheusError):
    """The query hit the points-per-series or max-samples limit: ask for a shorter range."""


_TOO_MUCH = ("too many samples", "exceeded maximum resolution", "maximum resolution")


def _epoch(ts: dt.datetime) -> str:
    return f"{ts.timestamp():.3f}"


class PrometheusClient:
    """Async client bound to one Prometheus base URL; use as ``async with PrometheusClient(url) as api``."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 120.0,
        retries: int = 3,
        authorization: str | None = None,
    ) -> None:
        try:
            base = URL(url)
        except ValueError as exc:
            raise InputError(f"not a URL: {exc}", field="url") from None
        if base.scheme not in ("http", "https") or not base.host:
            raise InputError(f"{url!r} is not an http(s) URL of a Prometheus server", field="url")
        self.base = base
        self._prefix = base.path.rstrip("/")  # Prometheus behind a path (--web.route-prefix, a proxy)
        self.timeout_s = timeout_s
        self.retries = retries
        self._headers = {"Authorization": authorization} if authorization else {}
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    async def __aenter__(self) -> PrometheusClient:
        self._session = aiohttp.ClientSession(
            headers={**self._headers, "Accept-Encoding": "gzip", "User-Agent": "aigrid-prometheus-backfill"},
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, params: Mapping[str, str] | list[tuple[str, str]]) -> Any:
        """``data`` of a successful API call; retries 5xx, timeouts and connection errors with back-off."""
        session = self._session
        assert session is not None, "use PrometheusClient as an async context manager"
        url = self.base.with_path(self._prefix + path)
        delay = 1.0
        for attempt in range(self.retries + 1):
            self.requests += 1
            try:
                async with session.get(url, params=params) as resp:
                    body = await resp.json(content_type=None)
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                if attempt == self.retries:
                    raise PrometheusError(f"{url}: {type(exc).__name__}: {exc}") from None
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if status == 200 and isinstance(body, dict) and body.get("status") == "success":
                return body.get("data")
            error = body.get("error", "") if isinstance(body, dict) else str(body)[:200]
            kind = body.get("errorType", "") if isinstance(body, dict) else ""
            if status in (400, 422) and any(marker in error for marker in _TOO_MUCH):
                raise TooMuchDataError(f"HTTP {status} {kind}: {error}")
            if status >= 500 and attempt < self.retries:
                await asyncio.sleep(delay)
                delay *= 2
                continue
            raise PrometheusError(f"{url}: HTTP {status} {kind}: {error}".rstrip(": "))
        raise PrometheusError(f"{url}: no answer")  # pragma: no cover - the loop always returns or raises

    async def label_values(self, label: str, match: str, start: dt.datetime, end: dt.datetime) -> list[str]:
        data = await self.get(
            f"/api/v1/label/{label}/values", [("match[]", match), ("start", _epoch(start)), ("end", _epoch(end))]
        )
        return [str(v) for v in data or []]

    async def series_count(self, match: str, start: dt.datetime, end: dt.datetime) -> int:
        data = await self.get("/api/v1/series", [("match[]", match), ("start", _epoch(start)), ("end", _epoch(end))])
        return len(data or [])

    async def metadata(self) -> dict[str, str]:
        """HELP text per metric name (empty for data that was backfilled rather than scraped)."""
        data = await self.get("/api/v1/metadata", [])
        helps: dict[str, str] = {}
        for name, entries in (data or {}).items():
            if entries and isinstance(entries, list):
                helps[str(name)] = str(entries[0].get("help", ""))
        return helps

    async def query_range(self, query: str, start: dt.datetime, end: dt.datetime, step_s: float) -> list[Any]:
        """The ``matrix`` result: ``[{"metric": {...}, "values": [[t, "v"], ...]}, ...]``."""
        data = await self.get(
            "/api/v1/query_range",
            {"query": query, "start": _epoch(start), "end": _epoch(end), "step": f"{step_s:g}"},
        )
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise PrometheusError(f"query_range of {query!r} did not return a matrix")
        result = data.get("result") or []
        assert isinstance(result, list)
        return result

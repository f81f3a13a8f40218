"""Connecting to a Redfish service and polling it: sessions or basic auth, TLS checks, clear errors.

Authentication follows the Redfish specification through the DMTF ``redfish`` client: a session
(``POST`` to the service root's ``Links.Sessions`` with ``UserName``/``Password``, then ``X-Auth-Token`` on
every request and ``DELETE`` of the session at exit) or HTTP basic auth. The password only ever lives in
memory: it comes from an environment variable the operator names and is never printed or logged.

TLS: the DMTF client turns certificate verification *off* unless it is given a CA file, so this module
always hands it one: ``True`` (the ``requests`` default trust store, honouring ``REQUESTS_CA_BUNDLE``) or
the operator's ``--ca-file``. Only an explicit ``insecure`` target skips verification.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import polars as pl
import redfish
from redfish.rest.v1 import (
    InvalidCredentialsError,
    JsonDecodingError,
    RetriesExhaustedError,
    ServerDownOrUnreachableError,
    SessionCreationError,
)
from urllib3.exceptions import InsecureRequestWarning

from collectors.errors import InputError
from collectors.facility.redfish import SOURCE, SessionRejectedError, Walk, walk
from collectors.landing import LandingZone
from collectors.layout import DataRoot

DEFAULT_PASSWORD_ENV = "AIGRID_REDFISH_PASSWORD"
_TRANSPORT_ERRORS = (RetriesExhaustedError, ServerDownOrUnreachableError, JsonDecodingError)


class RedfishError(InputError):
    """A Redfish service could not be used; the message is one line for the operator."""


class CredentialsRejectedError(RedfishError):
    """The service refused the user name or password (HTTP 401)."""


class RedfishUnreachableError(RedfishError):
    """No usable answer from the service: connection refused, timeout, TLS failure, not Redfish."""


@dataclass(frozen=True)
class RedfishTarget:
    """Where and how to reach one Redfish service."""

    endpoint: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: Literal["session", "basic"] = "session"
    insecure: bool = False
    ca_file: Path | None = None
    timeout_s: float = 10.0
    retries: int = 1

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or self.endpoint


def password_from_env(variable: str) -> str:
    """The password held in ``$variable``; a missing or empty variable is the operator's mistake."""
    value = os.environ.get(variable)
    if not value:
        raise InputError(f"environment variable {variable} is not set; it must hold the Redfish password")
    return value


@contextlib.contextmanager
def open_client(target: RedfishTarget) -> Iterator[Any]:
    """A connected (and, with a user name, logged-in) DMTF client; the session is deleted on exit."""
    with _tls_warnings(target):
        try:
            client = redfish.redfish_client(
                base_url=target.endpoint,
                username=target.username,
                password=target.password,
                # The client disables certificate checks when cafile is falsy; True keeps requests' default.
                cafile=str(target.ca_file) if target.ca_file else (None if target.insecure else True),
                timeout=target.timeout_s,
                max_retry=target.retries,
            )
        except _TRANSPORT_ERRORS as exc:
            raise _unreachable(target, exc) from None
        try:
            if target.username:
                _login(client, target)
            yield client
        finally:
            _logout(client)


def _login(client: Any, target: RedfishTarget) -> None:
    method = redfish.AuthMethod.BASIC if target.auth == "basic" else redfish.AuthMethod.SESSION
    try:
        client.login(auth=method)
    except InvalidCredentialsError:
        raise CredentialsRejectedError(
            f"{target.endpoint}: the Redfish service rejected the credentials of user {target.username!r} "
            f"(HTTP 401, {target.auth} authentication)"
        ) from None
    except SessionCreationError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "no reason given"
        raise RedfishError(f"{target.endpoint}: could not create a Redfish session: {reason}") from None
    except _TRANSPORT_ERRORS as exc:
        raise _unreachable(target, exc) from None


def _logout(client: Any) -> None:
    """Delete the session; a service that already dropped it is not an error worth failing for.

    The DMTF client closes its HTTP connection pool only when the DELETE succeeds, so it is closed here
    too (otherwise every re-login after a BMC restart would leak a socket).
    """
    try:
        with contextlib.suppress(Exception):  # the session is gone either way
            client.logout()
    finally:
        pool = getattr(client, "_session", None)
        if pool is not None:
            pool.close()


def _unreachable(target: RedfishTarget, exc: BaseException) -> RedfishUnreachableError:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(c.__name__ == "SSLError" for e in chain for c in type(e).__mro__):
        return RedfishUnreachableError(
            f"{target.endpoint}: TLS certificate verification failed; trust the service's CA with "
            "--ca-file, or pass --insecure for a lab BMC"
        )
    detail = str(chain[-1]).splitlines()[0] if str(chain[-1]) else type(chain[-1]).__name__
    return RedfishUnreachableError(f"{target.endpoint}: no Redfish service answered ({detail})")


@contextlib.contextmanager
def _tls_warnings(target: RedfishTarget) -> Iterator[None]:
    """An operator who chose ``--insecure`` was told once by the CLI; no warning per request."""
    with warnings.catch_warnings():
        if target.insecure:
            warnings.simplefilter("ignore", InsecureRequestWarning)
        yield


# -- polling -------------------------------------------------------------------------------------------


@dataclass
class PollResult:
    """One collection: when, whether it worked, what it read and landed."""

    ts: dt.datetime
    ok: bool
    duration_s: float
    walk: Walk | None = None
    files: list[Path] = field(default_factory=list)
    error: str | None = None

    @property
    def readings(self) -> int:
        return len(self.walk.readings) if self.walk else 0


class RedfishPoller:
    """Polls one service, lands its readings and a ``collector_health`` row per poll.

    The session is kept across polls and re-opened after a 401 or a transport failure; a poll that fails
    is recorded and the next one tries again. Rejected credentials end the run (retrying a wrong password
    only locks the account).
    """

    def __init__(
        self,
        target: RedfishTarget,
        *,
        root: DataRoot,
        site: str,
        producer: str,
        meter_prefix: str = "",
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.target = target
        self.meter_prefix = meter_prefix
        self.landing = LandingZone(root)
        self.site = site
        self.producer = producer
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._stack = contextlib.ExitStack()
        self._client: Any = None

    def __enter__(self) -> RedfishPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()
        self._client = None

    def poll(self) -> PollResult:
        started = self.clock()
        t0 = time.monotonic()
        result = PollResult(ts=started, ok=False, duration_s=0.0)
        try:
            if self._client is None:
                self._client = self._stack.enter_context(open_client(self.target))
            with _tls_warnings(self.target):
                result.walk = walk(self._client, clock=self.clock, meter_prefix=self.meter_prefix)
            frame = result.walk.frame(site=self.site, producer=self.producer)
            result.files = self.landing.write_batch("facility", self.producer, frame)
            result.ok = True
        except CredentialsRejectedError:
            raise
        except RedfishError as exc:
            result.error = str(exc)
            self.close()
        except SessionRejectedError as exc:
            result.error = f"session no longer valid ({exc}); logging in again next poll"
            self.close()
        except _TRANSPORT_ERRORS as exc:
            result.error = str(_unreachable(self.target, exc))
            self.close()
        except OSError as exc:
            result.error = f"cannot land readings: {exc}"
        except Exception as exc:  # a long-running collector outlives one bad answer; the error is recorded
            result.error = f"unexpected {type(exc).__name__}: {exc}"
            self.close()
        result.duration_s = time.monotonic() - t0
        self._health(result)
        return result

    def run(
        self,
        *,
        interval_s: float,
        stop: threading.Event,
        on_poll: Callable[[PollResult], None],
        max_polls: int | None = None,
    ) -> int:
        """Poll every ``interval_s`` until ``stop`` is set (or ``max_polls``); returns the polls done."""
        done = 0
        while not stop.is_set():
            t0 = time.monotonic()
            on_poll(self.poll())
            done += 1
            if max_polls is not None and done >= max_polls:
                break
            stop.wait(max(0.0, interval_s - (time.monotonic() - t0)))
        return done

    def _health(self, result: PollResult) -> None:
        row = pl.DataFrame(
            {
                "ts": pl.Series([result.ts], dtype=pl.Datetime("us", "UTC")),
                "site": [self.site],
                "source": [SOURCE],
                "producer": [self.producer],
                "target": [self.target.endpoint],
                "ok": [result.ok],
                "duration_s": [result.duration_s],
                "samples": pl.Series([result.readings], dtype=pl.Int64),
                "error": pl.Series([result.error], dtype=pl.String),
            }
        )
        with contextlib.suppress(OSError):
            self.landing.write_batch("collector_health", self.producer, row)

"""Credentials for HTTP endpoints (exporters behind ``--web-config-file``, Prometheus behind a proxy).

Secrets come only from a file the user names or from an environment variable, never from the command line
(where ``ps`` shows them) and are never logged or written anywhere: what leaves this module is the value of
one ``Authorization`` header, held in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import encode_basic_auth

from collectors.errors import InputError


def read_secret(file: Path | None, env: str, *, what: str) -> str | None:
    """The secret in ``file`` (trailing newline removed) or in ``$env``; None if neither is given."""
    if file is not None:
        try:
            secret = file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise InputError(f"cannot read the {what} file: {exc.strerror}", file=str(file)) from None
        if not secret:
            raise InputError(f"the {what} file is empty", file=str(file))
        return secret
    return os.environ.get(env) or None


def authorization(
    *,
    username: str | None,
    password_file: Path | None,
    password_env: str,
    token_file: Path | None = None,
    token_env: str | None = None,
) -> str | None:
    """An ``Authorization`` header value: basic auth for ``username``, else a bearer token, else None."""
    if username is not None:
        password = read_secret(password_file, password_env, what="password")
        if password is None:
            raise InputError(f"a user name needs a password file or ${password_env}", field="password")
        try:
            return encode_basic_auth(username, password)
        except ValueError as exc:
            raise InputError(str(exc), field="username") from None
    if password_file is not None:
        raise InputError("a password file needs a user name", field="username")
    token = read_secret(token_file, token_env, what="token") if token_env else None
    return f"Bearer {token}" if token else None

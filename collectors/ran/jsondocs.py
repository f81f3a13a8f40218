"""Reading JSON payloads (one document, or JSON lines) and the value conventions JSON sources share."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from collectors.errors import InputError
from collectors.ran.records import Problems


@dataclass(frozen=True)
class JsonDoc:
    """One JSON document and the line it starts on (1 for a whole-file document)."""

    line: int
    value: Any


def load(data: bytes, origin: str, problems: Problems) -> list[JsonDoc]:
    """The documents of a file: one JSON value, or one per line (JSON lines; bad lines reported and skipped)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=origin) from exc
    try:
        return [JsonDoc(1, json.loads(text))]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise _decode_error(exc, text, origin) from exc
    docs: list[JsonDoc] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            docs.append(JsonDoc(number, json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.add(f"not valid JSON ({exc.msg} at column {exc.colno}); line skipped", line=number)
    if not docs:
        raise InputError("no valid JSON document on any line", file=origin)
    return docs


def _decode_error(exc: json.JSONDecodeError, text: str, origin: str) -> InputError:
    if exc.pos >= len(text.rstrip()):
        return InputError(
            f"JSON is truncated: the file ends inside a document ({exc.msg})", file=origin, line=exc.lineno
        )
    return InputError(f"not valid JSON: {exc.msg} at column {exc.colno}", file=origin, line=exc.lineno)


def number(value: Any) -> float | None:
    """A JSON number (or numeric string, as VES writes them) as float; None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def truthy(value: Any) -> bool:
    """VES writes flags as strings (``"true"``); accept booleans and strings alike."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "yes")


def value_text(text: str) -> list[tuple[int | None, float | None]] | None:
    """A 32.435-style result: scalar, comma vector (index per element), ``NIL``/blank → null; None if garbled."""
    stripped = text.strip()
    if "," not in stripped:
        if stripped in ("", "NIL"):
            return [(None, None)]
        parsed = number(stripped)
        return None if parsed is None else [(None, parsed)]
    parts = [p.strip() for p in stripped.split(",")]
    if all(p in ("", "NIL") for p in parts):
        return [(None, None)]
    out: list[tuple[int | None, float | None]] = []
    for i, part in enumerate(parts):
        if part in ("", "NIL"):
            out.append((i, None))
            continue
        parsed = number(part)
        if parsed is None:
            return None
        out.append((i, parsed))
    return out

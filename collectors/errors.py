"""Errors that describe bad input to a user: which file, which line or field, and what was wrong.

A collector or command catches these and prints one line (never a traceback); good records read beside
the bad one are kept, and a file that cannot be read at all is quarantined with the message as reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(eq=False)
class InputError(Exception):
    """Bad input that the user can fix: the message names where and what."""

    reason: str
    file: str | Path | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = ":".join(where[:2]) if where else ""
        if len(where) > 2:
            prefix += f" ({where[2]})"
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def as_dict(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "file": None if self.file is None else str(self.file),
            "line": self.line,
            "field": self.field,
        }


class ConfigError(InputError):
    """An operator configuration file (tenants.yaml, meters.yaml, …) is invalid."""

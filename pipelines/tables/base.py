"""How a warehouse table is declared: columns with DuckDB types and meaning, key, partition grain.

The declarations are the allow-list for every SQL statement the pipelines build: a table or column name
that is not declared here is refused before any SQL is formed, and all values travel as parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Grain = Literal["hour", "day", "month"]
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""
    nullable: bool = True

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ValueError(f"column name {self.name!r} is not a plain lower-case identifier")


@dataclass(frozen=True)
class Table:
    """A warehouse table. ``time_column`` + ``grain`` make it partitioned; ``serving`` publishes it."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str | None = None
    grain: Grain | None = None
    serving: bool = True

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ValueError(f"table name {self.name!r} is not a plain lower-case identifier")
        names = self.column_names
        for col in (*self.key, *([self.time_column] if self.time_column else [])):
            if col not in names:
                raise ValueError(f"{self.name}: key/time column {col!r} is not declared")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def ddl(self) -> str:
        """CREATE TABLE statement; identifiers are declared constants, never user input."""
        cols = ",\n  ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n)"


def cols(*spec: tuple[str, str, str] | tuple[str, str]) -> tuple[Column, ...]:
    """Compact column declarations: ``("power_w", "DOUBLE", "mean board power")``."""
    return tuple(Column(s[0], s[1], s[2] if len(s) > 2 else "") for s in spec)

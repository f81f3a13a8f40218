"""All warehouse tables, by name. Each domain declares its own in a module beside this one."""

from __future__ import annotations

from pipelines.tables import facility, gpu, quality, ran, site, tenancy
from pipelines.tables.base import Column, Table

TABLES: dict[str, Table] = {t.name: t for module in (site, gpu, ran, facility, tenancy, quality) for t in module.TABLES}


def table(name: str) -> Table:
    """The declared table, or a KeyError: the allow-list check for every SQL identifier."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a declared warehouse table") from None


def serving_tables() -> list[Table]:
    return [t for t in TABLES.values() if t.serving]


__all__ = ["TABLES", "Column", "Table", "serving_tables", "table"]

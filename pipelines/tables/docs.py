"""Render the warehouse and serving tables as Markdown (``python -m pipelines.tables.docs > docs/tables.md``).

The reference is generated from the declarations so it cannot drift from the code; a test compares the
committed file with a fresh rendering.
"""

from __future__ import annotations

from pipelines.tables import TABLES


def render() -> str:
    lines = [
        "# Warehouse and serving tables",
        "",
        "Generated from `pipelines/tables/` by `python -m pipelines.tables.docs`; do not edit by hand.",
        "All timestamps are UTC (`TIMESTAMP` without zone); `hour` is the start of the hour, `day` a UTC date.",
        "Tables marked *serving* are published to `serving/current.duckdb`; the others stay in the warehouse.",
        "",
    ]
    for t in sorted(TABLES.values(), key=lambda t: (not t.serving, t.name)):
        where = "serving" if t.serving else "warehouse only"
        grain = f", partitioned by {t.grain} on `{t.time_column}`" if t.grain else ""
        lines += [f"## `{t.name}` ({where}{grain})", "", t.description, "", f"Key: {', '.join(t.key)}.", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {_type(c.type)} | {c.doc} |" for c in t.columns]
        lines.append("")
    return "\n".join(lines)


def _type(duckdb_type: str) -> str:
    """STRUCT(...)[] shortens to STRUCT[]; plain types and lists (INTEGER[]) print as declared."""
    if "(" not in duckdb_type:
        return duckdb_type
    return duckdb_type.split("(")[0] + ("[]" if duckdb_type.endswith("[]") else "")


if __name__ == "__main__":
    print(render(), end="")

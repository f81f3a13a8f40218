"""Generated documentation stays in step with the code."""

from __future__ import annotations

from pathlib import Path

from pipelines.tables.docs import render

DOCS = Path(__file__).parents[2] / "docs"


def test_table_reference_is_current() -> None:
    assert (DOCS / "tables.md").read_text() == render(), "run: python -m pipelines.tables.docs > docs/tables.md"

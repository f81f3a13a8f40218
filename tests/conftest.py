"""Shared fixtures: paths to the real sample files."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    """Root of the real sample files (dcgm/, ran/, redfish/)."""
    return SAMPLES

"""The catalogue: every aigrid dashboard, built from one vocabulary of variables and filters.

Adding a panel is one :class:`dashboards.spec.Panel` entry in the dashboard's module; adding a dashboard
is one module with a ``dashboard(vocabulary)`` function, listed in :data:`BUILDERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from dashboards.catalogue import airan, energy, fleet, gpu_health, pipeline_health, tenants
from dashboards.catalogue.folders import FOLDERS
from dashboards.spec import Dashboard
from dashboards.variables import Vocabulary

BUILDERS: tuple[Callable[[Vocabulary], Dashboard], ...] = (
    fleet.dashboard,
    energy.dashboard,
    tenants.dashboard,
    airan.dashboard,
    gpu_health.dashboard,
    pipeline_health.dashboard,
)


def dashboards(vocabulary: Vocabulary | None = None) -> list[Dashboard]:
    """All dashboards; by default with the vocabulary the serving-table declarations allow."""
    v = vocabulary if vocabulary is not None else Vocabulary.from_tables()
    return [build(v) for build in BUILDERS]


__all__ = ["BUILDERS", "FOLDERS", "dashboards"]

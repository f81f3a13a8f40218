"""The one variable vocabulary of every aigrid dashboard, and the SQL filters that honour it.

Every dashboard uses the same names, labels, order and behaviour: ``site`` → ``cluster`` → ``node`` →
``gpu`` (chained: each offers only what the ones before it select) and ``tenant``. All are multi-value with
an "All" option whose ``allValue`` is the SQL literal ``'__all'``: Grafana inserts a custom all value raw,
so a filter reads ``('__all' IN (${gpu:sqlstring}) OR gpu_uuid IN (${gpu:sqlstring}))`` and "All" never
expands into thousands of GPU UUIDs.

``cluster`` appears only where the serving tables know clusters (a ``cluster`` column in ``dim_gpu``);
the vocabulary reads that from the table declarations, so adding the column and regenerating is enough.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The raw SQL Grafana inserts for "All" (see module docstring).
ALL_VALUE = "'__all'"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    description: str
    #: SQL of the query variable (expanded like a variable query, not like a panel query).
    query: str
    multi: bool = True
    include_all: bool = True


def any_of(var: str, column: str) -> str:
    """``column`` matches the variable's selection, or the selection is "All"."""
    return f"('__all' IN (${{{var}:sqlstring}}) OR {column} IN (${{{var}:sqlstring}}))"


def selected(var: str) -> str:
    """The variable's selection as an SQL list for ``IN (…)``."""
    return f"${{{var}:sqlstring}}"


@dataclass(frozen=True)
class Vocabulary:
    """Variables and filters; ``cluster`` is on when the GPU inventory declares clusters."""

    cluster: bool = False

    @classmethod
    def from_tables(cls) -> Vocabulary:
        from pipelines.tables import TABLES

        dim_gpu = TABLES.get("dim_gpu")
        return cls(cluster=dim_gpu is not None and "cluster" in dim_gpu.column_names)

    # -- filters ---------------------------------------------------------------------------------------

    def site(self, alias: str = "") -> str:
        return any_of("site", f"{alias}site")

    def nodes(self, alias: str = "") -> str:
        """Site, cluster (through the inventory) and node of a table with ``site`` and ``node`` columns."""
        parts = [self.site(alias)]
        if self.cluster:
            parts.append(
                "('__all' IN (${cluster:sqlstring}) OR "
                f"{alias}node IN (SELECT node FROM dim_gpu WHERE cluster IN (${{cluster:sqlstring}})))"
            )
        parts.append(any_of("node", f"{alias}node"))
        return " AND ".join(parts)

    def gpus(self, alias: str = "") -> str:
        """:meth:`nodes` plus the GPU selection (by UUID)."""
        return f"{self.nodes(alias)} AND {any_of('gpu', f'{alias}gpu_uuid')}"

    def tenant(self, alias: str = "") -> str:
        return any_of("tenant", f"{alias}tenant")

    # -- variables -------------------------------------------------------------------------------------

    def variables(self, names: tuple[str, ...]) -> list[Variable]:
        """The variables a dashboard asks for, in the vocabulary's order; ``cluster`` dropped if unknown."""
        catalogue = {v.name: v for v in self._all()}
        unknown = [n for n in names if n not in catalogue and n != "cluster"]
        if unknown:
            raise KeyError(f"unknown dashboard variables: {', '.join(unknown)}")
        return [v for v in self._all() if v.name in names]

    def _all(self) -> list[Variable]:
        site_filter = self.site()
        node_scope = site_filter + (
            " AND ('__all' IN (${cluster:sqlstring}) OR cluster IN (${cluster:sqlstring}))" if self.cluster else ""
        )
        out = [
            Variable(
                "site",
                "Site",
                "Data-centre sites (dim_site).",
                "SELECT site AS __value, coalesce(name, site) AS __text FROM dim_site ORDER BY site",
            )
        ]
        if self.cluster:
            out.append(
                Variable(
                    "cluster",
                    "Cluster",
                    "GPU clusters at the selected sites (dim_gpu.cluster).",
                    f"SELECT DISTINCT cluster FROM dim_gpu WHERE {site_filter} AND cluster IS NOT NULL ORDER BY 1",
                )
            )
        out += [
            Variable(
                "node",
                "Node",
                "GPU nodes at the selected sites (dim_gpu).",
                f"SELECT DISTINCT node FROM dim_gpu WHERE {node_scope} ORDER BY 1",
            ),
            Variable(
                "gpu",
                "GPU",
                "GPUs on the selected nodes, by UUID; 'All' never lists them in the SQL.",
                "SELECT gpu_uuid AS __value, node || ' · GPU ' || coalesce(CAST(gpu_index AS VARCHAR), '?') "
                f"|| ' · ' || site AS __text FROM dim_gpu WHERE {node_scope} AND {any_of('node', 'node')} "
                "ORDER BY site, node, gpu_index",
            ),
            Variable(
                "tenant",
                "Tenant",
                "Tenants from tenants.yaml plus the reserved 'idle' and 'unattributed' lines (dim_tenant).",
                "SELECT tenant AS __value, coalesce(name, tenant) AS __text FROM dim_tenant ORDER BY tenant",
            ),
        ]
        return out

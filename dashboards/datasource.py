"""The one datasource every aigrid panel and variable uses, and its query model for the foundation SDK.

Every site provisions the MotherDuck DuckDB plugin with the same uid, pointed at that site's serving file,
so one dashboard JSON works everywhere (no ``__inputs``, no ``${DS_…}``, which only the interactive import
resolves). The SDK has no DuckDB query builder, so :class:`DuckDBQuery` is the plugin's target model:
``rawSql``, an **integer** ``format`` (plugin ≤ 0.4.5 cannot unmarshal ``"time_series"``) and
``editorMode: code``.
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.common import DataSourceRef

PLUGIN_ID = "motherduck-duckdb-datasource"
DATASOURCE_UID = "aigrid-duckdb"
DATASOURCE_NAME = "aigrid serving (DuckDB)"
#: Grafana interpolates environment variables in provisioning YAML: each site sets its serving file here.
SERVING_PATH_ENV = "AIGRID_SERVING_PATH"


def datasource_ref() -> DataSourceRef:
    return DataSourceRef(type_val=PLUGIN_ID, uid=DATASOURCE_UID)


def datasource_json() -> dict[str, str]:
    return {"type": PLUGIN_ID, "uid": DATASOURCE_UID}


class DuckDBQuery(cogvariants.Dataquery):
    """A target of the DuckDB plugin as the plugin's frontend stores it."""

    def __init__(self, ref_id: str, raw_sql: str, query_format: int) -> None:
        if query_format not in (0, 1):
            raise ValueError(f"format must be 0 (time series) or 1 (table), got {query_format!r}")
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.query_format = query_format

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": datasource_json(),
            "editorMode": "code",
            "format": self.query_format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> DuckDBQuery:
        return cls(str(data["refId"]), str(data["rawSql"]), int(data["format"]))


class DuckDBQueryBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, ref_id: str, raw_sql: str, query_format: int) -> None:
        self._query = DuckDBQuery(ref_id, raw_sql, query_format)

    def build(self) -> DuckDBQuery:
        return self._query

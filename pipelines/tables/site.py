"""Site dimension: the sites aigrid reports on, with their local time zone and PUE target."""

from __future__ import annotations

from pipelines.tables.base import Table, cols

DIM_SITE = Table(
    name="dim_site",
    description="Sites from sites.yaml: display name, local time zone, PUE target.",
    key=("site",),
    columns=cols(
        ("site", "VARCHAR"),
        ("name", "VARCHAR"),
        ("timezone", "VARCHAR", "IANA zone used for local-time reporting"),
        ("pue_target", "DOUBLE", "e.g. 1.4 (Japan's FY2030 benchmark)"),
    ),
)

TABLES = (DIM_SITE,)

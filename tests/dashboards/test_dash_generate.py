"""Generation: byte-identical regeneration, stable uids and ids, links, variables, descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dashboards.catalogue import dashboards
from dashboards.generate import build, drift, generate
from dashboards.render import GENERATED_DIR, layout, render_dashboard
from dashboards.variables import Vocabulary

UIDS = {
    "aigrid/aigrid-fleet.json",
    "aigrid/aigrid-energy.json",
    "aigrid/aigrid-tenants.json",
    "aigrid/aigrid-airan.json",
    "aigrid-health/aigrid-gpu-health.json",
    "aigrid-health/aigrid-pipeline.json",
}


def test_committed_dashboards_are_what_the_catalogue_generates() -> None:
    assert drift() == [], "run `aigrid dashboards build` and commit dashboards/generated"
    files = generate()
    assert {str(p) for p in files} == UIDS
    for rel, data in files.items():
        assert (GENERATED_DIR / rel).read_bytes() == data


def test_build_is_idempotent_and_removes_dropped_dashboards(tmp_path: Path) -> None:
    first = build(tmp_path)
    assert {str(p.relative_to(tmp_path)) for p in first.written} == UIDS
    stale = tmp_path / "aigrid" / "aigrid-old.json"
    stale.write_text("{}")
    second = build(tmp_path)
    assert second.written == []
    assert len(second.unchanged) == len(UIDS)
    assert second.removed == [stale]
    assert not stale.exists()
    assert drift(tmp_path) == []


def test_drift_names_the_changed_file(tmp_path: Path) -> None:
    build(tmp_path)
    target = tmp_path / "aigrid" / "aigrid-energy.json"
    target.write_bytes(target.read_bytes().replace(b'"PUE"', b'"PUE!"', 1))
    assert drift(tmp_path) == [f"{Path('aigrid/aigrid-energy.json')}: differs from the catalogue"]


def _panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in d["panels"] if p["type"] != "row"]


def test_every_panel_has_an_explicit_unique_id_a_description_and_a_unit(committed: list[dict[str, Any]]) -> None:
    for d in committed:
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), d["uid"]
        assert all(isinstance(i, int) and i > 0 for i in ids), d["uid"]
        for p in _panels(d):
            assert len(p["description"]) >= 40, (d["uid"], p["title"])
            assert p["fieldConfig"]["defaults"]["unit"], (d["uid"], p["title"])


def test_dashboards_link_to_each_other(committed: list[dict[str, Any]]) -> None:
    uids = {d["uid"] for d in committed}
    for d in committed:
        assert d["links"] == [
            {
                "asDropdown": True,
                "icon": "",
                "includeVars": True,
                "keepTime": True,
                "tags": ["aigrid"],
                "targetBlank": False,
                "title": "AI grid",
                "tooltip": "",
                "type": "dashboards",
            }
        ]
        assert "aigrid" in d["tags"]
        targets = [
            link["url"].split("/")[2]
            for p in _panels(d)
            for link in [*p.get("links", []), *p["fieldConfig"]["defaults"].get("links", [])]
        ]
        assert targets, f"{d['uid']} links to no other dashboard"
        assert set(targets) <= uids - {d["uid"]}


def test_variables_per_dashboard(committed: list[dict[str, Any]]) -> None:
    names = {d["uid"]: [v["name"] for v in d["templating"]["list"]] for d in committed}
    assert names == {
        "aigrid-fleet": ["site", "node", "gpu"],
        "aigrid-energy": ["site", "tenant"],
        "aigrid-tenants": ["site", "tenant"],
        "aigrid-airan": ["site"],
        "aigrid-gpu-health": ["site", "node", "gpu"],
        "aigrid-pipeline": ["site"],
    }
    for d in committed:
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                assert (v["multi"], v["includeAll"], v["allValue"]) == (True, True, "'__all'")
                assert v["datasource"] == {"type": "motherduck-duckdb-datasource", "uid": "aigrid-duckdb"}


def test_cluster_joins_the_vocabulary_when_the_inventory_knows_clusters() -> None:
    v = Vocabulary(cluster=True)
    fleet = render_dashboard(dashboards(v)[0], v)
    assert [x["name"] for x in fleet["templating"]["list"]] == ["site", "cluster", "node", "gpu"]
    node = fleet["templating"]["list"][2]
    assert "cluster IN (${cluster:sqlstring})" in node["query"]
    gpus_now = next(p for p in fleet["panels"] if p.get("title") == "GPUs now")
    assert "SELECT node FROM dim_gpu WHERE cluster IN (${cluster:sqlstring})" in gpus_now["targets"][0]["rawSql"]


def test_layout_flows_on_the_24_column_grid() -> None:
    fleet = dashboards(Vocabulary())[0]
    # "Now": 12 + 6 + 6 columns, then the 24-wide sites table; "Utilisation": 12 + 12; "Capacity": 12 + 6 + 6,
    # then 12 + 12; "Nodes": 14 + 10.
    assert layout(fleet) == [
        (0, [(0, 1), (12, 1), (18, 1), (0, 6)]),
        (11, [(0, 12), (12, 12)]),
        (20, [(0, 21), (12, 21), (18, 21), (0, 29), (12, 29)]),
        (37, [(0, 38), (14, 38)]),
    ]

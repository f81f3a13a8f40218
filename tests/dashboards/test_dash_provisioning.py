"""The provisioning folder: datasource and dashboard providers agree with the generated dashboards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from dashboards.catalogue import FOLDERS
from dashboards.datasource import DATASOURCE_UID, PLUGIN_ID, SERVING_PATH_ENV
from dashboards.render import GENERATED_DIR

PROVISIONING = Path(__file__).parents[2] / "dashboards" / "provisioning"
MOUNT = "/var/lib/grafana/dashboards/aigrid"


def _yaml(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PROVISIONING / rel).read_text(encoding="utf-8"))
    return data


def _grafana_env(text: str, env: dict[str, str]) -> str:
    """Grafana's provisioning interpolation: $VAR and ${VAR} from the environment, $$ for a literal $."""

    def value(m: re.Match[str]) -> str:
        return "$" if m.group(0) == "$$" else env.get(m.group(1) or m.group(2), "")

    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", value, text)


def test_datasource_is_the_plugin_on_the_serving_file_read_only_with_the_fixed_uid() -> None:
    doc = _yaml("datasources/aigrid-duckdb.yaml")
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert (ds["uid"], ds["type"], ds["access"], ds["editable"]) == (DATASOURCE_UID, PLUGIN_ID, "proxy", False)
    assert ds["jsonData"]["path"] == "${" + SERVING_PATH_ENV + "}"
    assert ds["jsonData"]["readOnly"] is True
    assert "secureJsonData" not in ds


def test_the_serving_path_comes_from_the_environment() -> None:
    text = (PROVISIONING / "datasources" / "aigrid-duckdb.yaml").read_text(encoding="utf-8")
    resolved = yaml.safe_load(_grafana_env(text, {SERVING_PATH_ENV: "/srv/aigrid/serving/current.duckdb"}))
    assert resolved["datasources"][0]["jsonData"]["path"] == "/srv/aigrid/serving/current.duckdb"


def test_one_provider_per_folder_pointing_at_its_generated_subfolder() -> None:
    doc = _yaml("dashboards/aigrid.yaml")
    assert doc["apiVersion"] == 1
    providers = {p["folderUid"]: p for p in doc["providers"]}
    assert {f.uid: f.title for f in FOLDERS} == {uid: p["folder"] for uid, p in providers.items()}
    generated_folders = sorted(p.name for p in GENERATED_DIR.iterdir() if p.is_dir())
    assert sorted(providers) == generated_folders
    for uid, p in providers.items():
        assert p["type"] == "file"
        assert p["options"]["path"] == f"{MOUNT}/{uid}"
        # folder/folderUid and foldersFromFilesStructure do not combine (Grafana docs).
        assert p["options"]["foldersFromFilesStructure"] is False
        assert p["allowUiUpdates"] is False
        assert list((GENERATED_DIR / uid).glob("*.json")), f"no dashboards for provider {uid}"
    assert len({p["name"] for p in doc["providers"]}) == len(doc["providers"])

"""Publishing to Grafana's HTTP API, against a local server implementing the endpoints publish calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.errors import InputError
from dashboards.publish import PublishError, publish, token_from_env
from tests.dashboards.fake_grafana import TOKEN, FakeGrafana


def test_publish_creates_folders_and_uploads_every_dashboard(grafana: tuple[str, FakeGrafana], generated: Path) -> None:
    url, state = grafana
    result = publish(url, TOKEN, generated, timeout=5)
    assert result.folders_created == ["aigrid", "aigrid-health"]
    assert result.dashboards == [
        "aigrid-airan",
        "aigrid-energy",
        "aigrid-fleet",
        "aigrid-tenants",
        "aigrid-gpu-health",
        "aigrid-pipeline",
    ]
    assert [(m, p) for m, p, _, _ in state.requests] == [
        ("GET", "/api/folders/aigrid"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * 4,
        ("GET", "/api/folders/aigrid-health"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * 2,
    ]
    assert {auth for _, _, auth, _ in state.requests} == {f"Bearer {TOKEN}"}
    assert state.folders["aigrid-health"]["title"] == "AI grid · health"
    body = state.dashboards["aigrid-fleet"]["body"]
    assert (body["folderUid"], body["overwrite"], body["message"]) == ("aigrid", True, "aigrid dashboards publish")
    committed = json.loads((generated / "aigrid" / "aigrid-fleet.json").read_text(encoding="utf-8"))
    assert body["dashboard"] == committed
    assert state.dashboards["aigrid-pipeline"]["folderUid"] == "aigrid-health"


def test_publishing_again_overwrites_by_uid_and_renames_folders(
    grafana: tuple[str, FakeGrafana], generated: Path
) -> None:
    url, state = grafana
    publish(url, TOKEN, generated, timeout=5)
    state.folders["aigrid"]["title"] = "renamed by hand"
    state.requests.clear()
    again = publish(url, TOKEN, generated, timeout=5)
    assert again.folders_created == []
    assert again.folders_renamed == ["aigrid"]
    assert state.folders["aigrid"]["title"] == "AI grid"
    assert sorted(state.dashboards) == sorted(again.dashboards)
    assert {d["version"] for d in state.dashboards.values()} == {2}
    assert ("PUT", "/api/folders/aigrid") in [(m, p) for m, p, _, _ in state.requests]


def test_a_refused_token_is_reported_without_the_token(grafana: tuple[str, FakeGrafana], generated: Path) -> None:
    url, state = grafana
    with pytest.raises(PublishError) as caught:
        publish(url, "glsa_wrong_secret", generated, timeout=5)
    message = str(caught.value)
    assert "answered 401 while creating folder 'aigrid'" in message
    assert "glsa_wrong_secret" not in message
    assert state.dashboards == {}


def test_an_unreachable_grafana_is_one_error(generated: Path) -> None:
    with pytest.raises(PublishError, match="cannot reach Grafana while creating folder 'aigrid'"):
        publish("http://127.0.0.1:9", TOKEN, generated, timeout=2)


def test_user_mistakes_are_input_errors(tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    with pytest.raises(InputError, match="set GRAFANA_TOKEN"):
        token_from_env()
    monkeypatch.setenv("GRAFANA_TOKEN", " t0k ")
    assert token_from_env() == "t0k"
    with pytest.raises(InputError, match="not an http"):
        publish("ftp://grafana", TOKEN, generated)
    with pytest.raises(InputError, match="no credentials in the URL"):
        publish("http://admin:admin@127.0.0.1:3000", TOKEN, generated)
    with pytest.raises(InputError, match="no dashboards found"):
        publish("http://127.0.0.1:3000", TOKEN, tmp_path / "empty")
    (generated / "aigrid" / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match=r"broken\.json:line 1"):
        publish("http://127.0.0.1:3000", TOKEN, generated)

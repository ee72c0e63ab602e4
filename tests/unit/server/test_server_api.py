"""The HTTP API against a real store, without the daemon's processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from petset.api.errors import InvalidError, NotFoundError
from petset.api.settings import Settings
from petset.cli.client import error_from
from petset.runtime.local import LocalCluster
from petset.server.app import create_app
from petset.server.daemon import TokenAuth, parse_listen
from petset.server.wiring import Components, ensure_default_namespace
from petset.store import Store

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{tier: {tier}}}\n"


@pytest.fixture
def comps(tmp_path: Path) -> Iterator[Components]:
    cluster = LocalCluster(Store(tmp_path / "state.db"))
    ensure_default_namespace(cluster)
    yield Components(Settings(home=tmp_path), cluster)
    cluster.store.close()


@pytest.fixture
def api(comps: Components) -> TestClient:
    return TestClient(create_app(comps), raise_server_exceptions=False)


def _apply(api: TestClient, text: str) -> httpx.Response:
    return api.post("/v1/apply", json={"files": [{"source": "in.yaml", "text": text}]})


def test_apply_reports_actions_and_reapply_is_unchanged(api: TestClient) -> None:
    text = CM.format(name="a", tier="web") + "---\n" + CM.format(name="b", tier="db")
    first = _apply(api, text).json()["results"]
    assert [(r["name"], r["action"]) for r in first] == [("a", "created"), ("b", "created")]
    again = _apply(api, text).json()["results"]
    assert [r["action"] for r in again] == ["unchanged", "unchanged"]
    assert [r["resourceVersion"] for r in again] == [r["resourceVersion"] for r in first]


def test_invalid_input_is_a_status_with_problems_and_nothing_is_stored(api: TestClient) -> None:
    text = CM.format(name="good", tier="x") + "---\n" + CM.format(name="Bad_Name", tier="x")
    resp = _apply(api, text)
    assert resp.status_code == 422
    body = resp.json()
    assert body["kind"] == "Status" and body["reason"] == "Invalid"
    assert any("metadata.name" in p for p in body["details"]["problems"])
    err = error_from(resp)
    assert isinstance(err, InvalidError) and err.problems == body["details"]["problems"]
    assert api.get("/v1/objects/ConfigMap", params={"namespace": "default"}).json()["items"] == []


def test_get_missing_is_404_mapped_back_to_not_found(api: TestClient) -> None:
    resp = api.get("/v1/objects/StatefulSet/nope", params={"namespace": "default"})
    assert resp.status_code == 404
    assert isinstance(error_from(resp), NotFoundError)
    assert api.get("/v1/objects/Bogus").status_code == 404


def test_list_filters_by_label_selector_and_namespace(api: TestClient) -> None:
    _apply(api, CM.format(name="a", tier="web") + "---\n" + CM.format(name="b", tier="db"))
    got = api.get("/v1/objects/ConfigMap", params={"labelSelector": "tier=db"}).json()
    assert [o["metadata"]["name"] for o in got["items"]] == ["b"]
    other = api.get("/v1/objects/ConfigMap", params={"namespace": "other"}).json()
    assert other["items"] == []
    bad = api.get("/v1/objects/ConfigMap", params={"labelSelector": "a in b"})
    assert bad.status_code == 422


def test_watch_streams_ndjson_from_a_version(api: TestClient) -> None:
    _apply(api, CM.format(name="a", tier="web"))
    rv = api.get("/v1/objects/ConfigMap/a").json()["metadata"]["resourceVersion"]
    _apply(api, CM.format(name="b", tier="web"))
    resp = api.get("/v1/watch/ConfigMap", params={"resourceVersion": rv, "timeout": "0.3"})
    lines = [json.loads(line) for line in resp.text.splitlines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "b")]


def test_delete_and_delete_by_files(api: TestClient) -> None:
    _apply(api, CM.format(name="a", tier="web") + "---\n" + CM.format(name="b", tier="web"))
    assert api.delete("/v1/objects/ConfigMap/a").json()["deleted"] is True
    files = [{"source": "in.yaml", "text": CM.format(name="a", tier="web") + "---\n"
              + CM.format(name="b", tier="web")}]  # fmt: skip
    results = api.post("/v1/delete", json={"files": files}).json()["results"]
    assert [(r["name"], r["deleted"]) for r in results] == [("a", False), ("b", True)]
    assert results[0]["reason"] == "NotFound"


def test_scale_checks_the_count(api: TestClient) -> None:
    resp = api.post("/v1/scale/StatefulSet/web", json={"replicas": "3"})
    assert resp.status_code == 422


def test_token_auth_refuses_missing_and_wrong_tokens(comps: Components) -> None:
    app = TestClient(TokenAuth(create_app(comps), "s3cret"))
    assert app.get("/healthz").status_code == 401
    assert app.get("/healthz", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert app.get("/healthz", headers={"Authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("address", ["0.0.0.0:80", "10.0.0.1:8443", "example.com:80", "127.0.0.1"])
def test_listen_refuses_anything_but_loopback(address: str) -> None:
    with pytest.raises(InvalidError):
        parse_listen(address)


def test_listen_accepts_loopback() -> None:
    assert parse_listen("127.3.4.5:8443") == ("127.3.4.5", 8443)
    assert parse_listen("[::1]:8443") == ("::1", 8443)


def test_list_shows_every_change_that_was_answered(api: TestClient) -> None:
    """Lists are sent from memory while unchanged: a write's answer must be seen."""
    _apply(api, CM.format(name="a", tier="web"))
    first = api.get("/v1/objects/ConfigMap", params={"namespace": "default"}).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["a"]
    assert api.get("/v1/objects/ConfigMap", params={"namespace": "default"}).json() == first
    api.patch("/v1/objects/ConfigMap/a", json={"data": {"k": "v"}}).raise_for_status()
    again = api.get("/v1/objects/ConfigMap", params={"namespace": "default"}).json()
    assert again["items"][0]["data"] == {"k": "v"}
    assert again["metadata"]["resourceVersion"] == int(
        again["items"][0]["metadata"]["resourceVersion"]
    )
    assert again["metadata"]["resourceVersion"] > first["metadata"]["resourceVersion"]

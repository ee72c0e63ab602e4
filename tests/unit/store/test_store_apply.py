"""apply_many: kubectl-apply semantics in one all-or-nothing transaction."""

from __future__ import annotations

import json

import pytest

from petset.api.errors import ConflictError, InvalidError, NotFoundError
from petset.api.meta import Obj
from petset.store import LAST_APPLIED, Store


def svc(name: str, port: int = 80, **extra: object) -> Obj:
    spec: dict[str, object] = {"ports": [{"port": port}], "selector": {"app": name}}
    spec.update(extra)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_create_then_unchanged_then_configured() -> None:
    store = Store(":memory:")
    [created] = store.apply_many([svc("web")])
    assert created.action == "created"
    recorded = json.loads(created.obj["metadata"]["annotations"][LAST_APPLIED])
    assert recorded["spec"] == svc("web")["spec"]
    mark = store.resource_version()
    [same] = store.apply_many([svc("web")])
    assert same.action == "unchanged" and same.obj == created.obj
    assert store.resource_version() == mark  # nothing written, no watch event
    assert list(store.watch("Service", resource_version=mark, timeout=0.02)) == []
    [changed] = store.apply_many([svc("web", 81)])
    assert changed.action == "configured"
    assert changed.obj["metadata"]["generation"] == 2


def test_fields_set_by_controllers_survive_and_removed_fields_go() -> None:
    store = Store(":memory:")
    store.apply_many([svc("web", sessionAffinity="ClientIP")])
    store.patch("Service", "web", "default", {"spec": {"clusterIP": "127.20.0.7"}})
    store.patch("Service", "web", "default", {"status": {"loadBalancer": {}}})
    [out] = store.apply_many([svc("web", 8080)])
    spec = out.obj["spec"]
    assert spec["clusterIP"] == "127.20.0.7"  # the controller's field stays
    assert "sessionAffinity" not in spec  # the user removed it from their config
    assert spec["ports"] == [{"port": 8080}]
    assert out.obj["status"] == {"loadBalancer": {}}


def test_defaults_hook_runs_on_what_is_written() -> None:
    store = Store(":memory:")

    def defaults(obj: Obj) -> Obj:
        obj["spec"].setdefault("type", "ClusterIP")
        return obj

    [out] = store.apply_many([svc("web")], defaults=defaults)
    assert out.obj["spec"]["type"] == "ClusterIP"
    recorded = json.loads(out.obj["metadata"]["annotations"][LAST_APPLIED])
    assert "type" not in recorded["spec"]  # last-applied is the user's config
    [again] = store.apply_many([svc("web")], defaults=defaults)
    assert again.action == "unchanged"


def test_all_or_nothing_when_one_object_conflicts() -> None:
    store = Store(":memory:")
    [live] = store.apply_many([svc("a")])
    stale = svc("a", 90)
    stale["metadata"]["resourceVersion"] = live.obj["metadata"]["resourceVersion"]
    store.patch("Service", "a", "default", {"metadata": {"labels": {"touched": "yes"}}})
    mark = store.resource_version()
    with pytest.raises(ConflictError):
        store.apply_many([svc("b"), {**svc("c"), "kind": "ConfigMap"}, stale])
    assert store.resource_version() == mark
    with pytest.raises(NotFoundError):
        store.get("Service", "b", "default")
    assert store.get("Service", "a", "default")["spec"]["ports"] == [{"port": 80}]
    # The counter rolled back too: the next write is exactly one version later.
    nxt = store.create(svc("d"))
    assert int(nxt["metadata"]["resourceVersion"]) == int(mark) + 1


def test_all_or_nothing_when_defaults_reject_an_object() -> None:
    store = Store(":memory:")

    def defaults(obj: Obj) -> Obj:
        if obj["metadata"]["name"] == "bad":
            raise InvalidError("spec.ports: required")
        return obj

    with pytest.raises(InvalidError):
        store.apply_many([svc("good"), svc("bad")], defaults=defaults)
    assert store.list("Service") == []

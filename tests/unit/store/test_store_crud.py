"""Store CRUD: resourceVersions, conflicts, generation, finalizers, selectors, Events."""

from __future__ import annotations

from pathlib import Path

import pytest

from petset.api.errors import AlreadyExistsError, ConflictError, InvalidError, NotFoundError
from petset.api.meta import Obj
from petset.store import Store


def sts(name: str, replicas: int = 1, **labels: str) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "db", "labels": labels},
        "spec": {"replicas": replicas},
    }


def pod(name: str, phase: str, node: str = "local", **labels: str) -> Obj:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node},
        "status": {"phase": phase},
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def test_create_fills_identity_and_get_reads_it_back(store: Store) -> None:
    created = store.create(sts("web"))
    md = created["metadata"]
    assert md["uid"] and md["creationTimestamp"].endswith("Z")
    assert md["generation"] == 1 and md["resourceVersion"] == "1"
    assert store.get("StatefulSet", "web", "db") == created
    cm = store.create({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}})
    assert cm["metadata"]["namespace"] == "default" and cm["apiVersion"] == "v1"
    pv = store.create({"kind": "PersistentVolume", "metadata": {"name": "pv", "namespace": "x"}})
    assert "namespace" not in pv["metadata"]
    assert store.get("PersistentVolume", "pv")["metadata"]["uid"] == pv["metadata"]["uid"]


def test_resource_versions_are_one_increasing_counter(store: Store) -> None:
    a = store.create(sts("a"))
    b = store.create({"kind": "ConfigMap", "metadata": {"name": "b"}})
    a2 = store.update(a)  # no change: no new version
    assert a2["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]
    a3 = store.update({**a, "spec": {"replicas": 5}})
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (a, b, a3)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3


def test_create_existing_and_missing_objects(store: Store) -> None:
    store.create(sts("web"))
    with pytest.raises(AlreadyExistsError):
        store.create(sts("web"))
    with pytest.raises(NotFoundError):
        store.get("StatefulSet", "nope", "db")
    with pytest.raises(NotFoundError):
        store.update(sts("nope"))
    with pytest.raises(InvalidError):
        store.create({"kind": "Gizmo", "metadata": {"name": "x"}})


def test_stale_resource_version_conflicts(store: Store) -> None:
    first = store.create(sts("web"))
    store.update({**first, "spec": {"replicas": 2}})
    with pytest.raises(ConflictError):
        store.update({**first, "spec": {"replicas": 3}})
    with pytest.raises(ConflictError):
        store.update_status({**first, "status": {"replicas": 1}})
    assert store.get("StatefulSet", "web", "db")["spec"]["replicas"] == 2


def test_generation_bumps_only_when_spec_changes(store: Store) -> None:
    obj = store.create(sts("web"))
    obj["metadata"]["labels"] = {"tier": "db"}
    obj = store.update(obj)
    assert obj["metadata"]["generation"] == 1
    obj = store.update_status({**obj, "status": {"readyReplicas": 1}})
    assert obj["metadata"]["generation"] == 1 and obj["status"] == {"readyReplicas": 1}
    obj = store.update({**obj, "spec": {"replicas": 3}})
    assert obj["metadata"]["generation"] == 2
    obj = store.patch("StatefulSet", "web", "db", {"spec": {"replicas": 4}})
    assert obj["metadata"]["generation"] == 3


def test_update_keeps_status_and_server_fields(store: Store) -> None:
    obj = store.create(sts("web"))
    store.update_status({**obj, "status": {"replicas": 1}})
    mine = sts("web", 2)
    mine["metadata"]["uid"] = "forged"
    mine["status"] = {"replicas": 99}
    out = store.update(mine)
    assert out["status"] == {"replicas": 1}
    assert out["metadata"]["uid"] == obj["metadata"]["uid"]
    assert out["metadata"]["creationTimestamp"] == obj["metadata"]["creationTimestamp"]


def test_patch_merges_spec_and_status_in_one_write(store: Store) -> None:
    obj = store.create(sts("web", app="x"))
    out = store.patch(
        "StatefulSet", "web", "db", {"metadata": {"labels": {"app": None}}, "status": {"r": 1}}
    )
    assert out["metadata"]["labels"] == {} and out["status"] == {"r": 1}
    assert int(out["metadata"]["resourceVersion"]) == int(obj["metadata"]["resourceVersion"]) + 1


def test_finalizers_hold_a_deleted_object_until_removed(store: Store) -> None:
    obj = sts("web")
    obj["metadata"]["finalizers"] = ["example.com/keep"]
    store.create(obj)
    store.delete("StatefulSet", "web", "db")
    held = store.get("StatefulSet", "web", "db")
    assert held["metadata"]["deletionTimestamp"]
    held["metadata"]["deletionTimestamp"] = None  # cannot be undone by an update
    held = store.update(held)
    assert held["metadata"]["deletionTimestamp"]
    held["metadata"]["finalizers"] = []
    store.update(held)
    with pytest.raises(NotFoundError):
        store.get("StatefulSet", "web", "db")


def test_delete_policies_and_uid_precondition(store: Store) -> None:
    obj = store.create(sts("a"))
    with pytest.raises(ConflictError):
        store.delete("StatefulSet", "a", "db", uid="someone-else")
    store.delete("StatefulSet", "a", "db", uid=obj["metadata"]["uid"])
    with pytest.raises(NotFoundError):
        store.delete("StatefulSet", "a", "db")
    store.create(sts("f"))
    store.delete("StatefulSet", "f", "db", propagation="Foreground")
    assert store.get("StatefulSet", "f", "db")["metadata"]["finalizers"] == ["foregroundDeletion"]
    store.delete("StatefulSet", "f", "db", propagation="Orphan")
    assert store.get("StatefulSet", "f", "db")["metadata"]["finalizers"] == ["orphan"]


def test_label_and_field_selectors(store: Store) -> None:
    store.create(pod("a", "Running", app="db", role="primary"))
    store.create(pod("b", "Pending", app="db", role="replica"))
    store.create(pod("c", "Running", node="other", app="web"))
    other_ns = pod("d", "Running", app="db")
    other_ns["metadata"]["namespace"] = "prod"
    store.create(other_ns)

    def names(**kw: str) -> list[str]:
        return [o["metadata"]["name"] for o in store.list("Pod", kw.pop("ns", None), **kw)]

    assert names() == ["a", "b", "c", "d"]
    assert names(ns="default") == ["a", "b", "c"]
    assert names(label_selector="app=db") == ["a", "b", "d"]
    assert names(label_selector="app=db,role in (primary)") == ["a"]
    assert names(label_selector="!role") == ["c", "d"]
    assert names(field_selector="status.phase=Running") == ["a", "c", "d"]
    assert names(field_selector="spec.nodeName!=local") == ["c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.namespace=prod") == ["d"]
    assert names(label_selector="app=db", field_selector="status.phase=Running") == ["a", "d"]


def test_events_are_deduplicated_and_expire() -> None:
    now = [1_000_000.0]
    store = Store(":memory:", clock=lambda: now[0], event_ttl=3600)
    involved = store.create(sts("web"))
    first = store.record_event(involved, type="Normal", reason="Scaled", message="to 3")
    now[0] += 60
    again = store.record_event(involved, type="Normal", reason="Scaled", message="to 3")
    assert again["metadata"]["name"] == first["metadata"]["name"] and again["count"] == 2
    assert again["lastTimestamp"] > again["firstTimestamp"]
    other = store.record_event(involved, type="Warning", reason="Scaled", message="to 3")
    assert other["metadata"]["name"] != first["metadata"]["name"]
    now[0] += 601  # outside the ten-minute window: a new Event
    late = store.record_event(involved, type="Normal", reason="Scaled", message="to 3")
    assert late["metadata"]["name"] != first["metadata"]["name"] and late["count"] == 1
    found = store.list("Event", "db", field_selector="involvedObject.name=web,reason=Scaled")
    assert len(found) == 3
    assert found[0]["involvedObject"]["kind"] == "StatefulSet"
    assert found[0]["source"] == {"component": "petset"}
    now[0] += 3600 - 100  # the first two have not been updated for an hour
    store.compact()
    assert [e["metadata"]["name"] for e in store.list("Event")] == [late["metadata"]["name"]]


def test_reopen_keeps_objects_and_counter(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    a = store.create(sts("a"))
    store.delete("StatefulSet", "a", "db")
    store.close()
    again = Store(tmp_path / "s.db")
    b = again.create(sts("b"))
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"]) + 1

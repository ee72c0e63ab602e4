"""The garbage collector driven through the Manager over a real (temp-file) store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, owner_reference
from petset.controllers import gc
from petset.runtime.local import LocalCluster
from petset.runtime.manager import Manager
from petset.store import Store


@pytest.fixture
def cluster(tmp_path: Path) -> LocalCluster:
    return LocalCluster(Store(tmp_path / "state.db"))


@pytest.fixture
def manager(cluster: LocalCluster) -> Iterator[Manager]:
    mgr = Manager(cluster, [gc.controller()], watch_timeout=0.1)
    mgr.start()
    yield mgr
    assert mgr.stop(3)


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def exists(cluster: LocalCluster, kind: str, name: str, namespace: str = "default") -> bool:
    try:
        cluster.get(kind, name, namespace)
        return True
    except NotFoundError:
        return False


def owned(kind: str, name: str, *owners: Obj, block: bool = True, **extra: object) -> Obj:
    obj: Obj = {"kind": kind, "metadata": {"name": name}, **extra}
    obj["metadata"]["ownerReferences"] = [
        owner_reference(o, controller=i == 0, block=block) for i, o in enumerate(owners)
    ]
    return obj


def family(cluster: LocalCluster) -> Obj:
    """A StatefulSet owning two pods; pod web-0 owns a ConfigMap."""
    sts = cluster.create({"kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {}})
    pod0 = cluster.create(owned("Pod", "web-0", sts, spec={}))
    cluster.create(owned("Pod", "web-1", sts, spec={}))
    cluster.create(owned("ConfigMap", "web-0-cfg", pod0))
    return sts


def test_background_deletes_dependents_after_the_owner(
    cluster: LocalCluster, manager: Manager
) -> None:
    family(cluster)
    other = cluster.create({"kind": "StatefulSet", "metadata": {"name": "other"}, "spec": {}})
    cluster.create(owned("Pod", "other-0", other, spec={}))
    assert manager.wait_idle(5)
    cluster.delete("StatefulSet", "web")
    assert not exists(cluster, "StatefulSet", "web")  # the owner goes at once
    eventually(lambda: [p["metadata"]["name"] for p in cluster.list("Pod")] == ["other-0"])
    eventually(lambda: not exists(cluster, "ConfigMap", "web-0-cfg"))


def test_dependent_with_a_surviving_owner_only_loses_the_reference(
    cluster: LocalCluster, manager: Manager
) -> None:
    a = cluster.create({"kind": "ConfigMap", "metadata": {"name": "a"}})
    b = cluster.create({"kind": "ConfigMap", "metadata": {"name": "b"}})
    cluster.create(owned("Secret", "shared", a, b))
    assert manager.wait_idle(5)
    cluster.delete("ConfigMap", "a")

    def refs() -> list[str]:
        sec = cluster.get("Secret", "shared", "default")
        return [r["name"] for r in sec["metadata"].get("ownerReferences") or []]

    eventually(lambda: refs() == ["b"])
    assert manager.wait_idle(5) and exists(cluster, "Secret", "shared")


def test_foreground_waits_for_blocking_dependents(cluster: LocalCluster, manager: Manager) -> None:
    family(cluster)
    cluster.patch("Pod", "web-1", "default", {"metadata": {"finalizers": ["test/hold"]}})
    assert manager.wait_idle(5)
    cluster.delete("StatefulSet", "web", propagation="Foreground")
    eventually(lambda: not exists(cluster, "Pod", "web-0"))
    assert not exists(cluster, "ConfigMap", "web-0-cfg")  # grandchildren went first
    assert manager.wait_idle(5)
    held = cluster.get("StatefulSet", "web", "default")  # web-1 still blocks it
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert cluster.get("Pod", "web-1", "default")["metadata"]["deletionTimestamp"]
    pod = cluster.get("Pod", "web-1", "default")
    pod["metadata"]["finalizers"] = [f for f in pod["metadata"]["finalizers"] if "test" not in f]
    cluster.update(pod)
    eventually(lambda: not exists(cluster, "StatefulSet", "web"))
    assert cluster.list("Pod") == []


def test_orphan_keeps_dependents_without_the_reference(
    cluster: LocalCluster, manager: Manager
) -> None:
    family(cluster)
    assert manager.wait_idle(5)
    cluster.delete("StatefulSet", "web", propagation="Orphan")
    eventually(lambda: not exists(cluster, "StatefulSet", "web"))
    assert manager.wait_idle(5)
    pods = cluster.list("Pod")
    assert [p["metadata"]["name"] for p in pods] == ["web-0", "web-1"]
    assert all(not p["metadata"].get("ownerReferences") for p in pods)
    assert exists(cluster, "ConfigMap", "web-0-cfg")  # its owner web-0 is still there


def test_dependents_of_owners_gone_while_stopped_are_collected_at_start(
    cluster: LocalCluster,
) -> None:
    sts = cluster.create({"kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {}})
    cluster.create(owned("Pod", "web-0", sts, spec={}))
    cluster.delete("StatefulSet", "web")  # no collector running
    assert exists(cluster, "Pod", "web-0")
    mgr = Manager(cluster, [gc.controller()], watch_timeout=0.1)
    mgr.start()
    try:
        eventually(lambda: not exists(cluster, "Pod", "web-0"))
    finally:
        mgr.stop(3)


def test_cluster_scoped_owner_and_unresolvable_owner(
    cluster: LocalCluster, manager: Manager
) -> None:
    ns = cluster.create({"kind": "Namespace", "metadata": {"name": "team"}})
    cm = owned("ConfigMap", "c", ns)
    cm["metadata"]["namespace"] = "team"
    cluster.create(cm)
    pvc = cluster.create({"kind": "PersistentVolumeClaim", "metadata": {"name": "data"}})
    cluster.create(owned("PersistentVolume", "pv-1", pvc))  # namespaced owner: unresolvable
    assert manager.wait_idle(5)
    cluster.delete("Namespace", "team")
    eventually(lambda: not exists(cluster, "ConfigMap", "c", "team"))
    cluster.delete("PersistentVolumeClaim", "data")
    cluster.create({"kind": "PersistentVolumeClaim", "metadata": {"name": "data"}})
    assert manager.wait_idle(5)
    assert exists(cluster, "PersistentVolume", "pv-1", "")  # never deleted on a guess


def test_owner_recreated_under_the_same_name_does_not_adopt(
    cluster: LocalCluster, manager: Manager
) -> None:
    first = cluster.create({"kind": "Secret", "metadata": {"name": "s"}})
    cluster.create(owned("ConfigMap", "dep", first))
    assert manager.wait_idle(5)
    cluster.delete("Secret", "s")
    cluster.create({"kind": "Secret", "metadata": {"name": "s"}})  # new uid
    eventually(lambda: not exists(cluster, "ConfigMap", "dep"))
    assert exists(cluster, "Secret", "s")


def test_graph_forgets_deleted_objects_but_not_their_successors(cluster: LocalCluster) -> None:
    graph = gc.DependentsGraph()
    mgr = Manager(cluster, [gc.controller(graph)], watch_timeout=0.1)
    mgr.start()
    try:
        family(cluster)
        assert mgr.wait_idle(5)
        assert len(graph) == 4
        cluster.delete("StatefulSet", "web")
        eventually(lambda: cluster.list("Pod") == [])
        assert mgr.wait_idle(5)
        assert len(graph) == 0
    finally:
        mgr.stop(3)
    owner = {"kind": "Secret", "metadata": {"name": "o", "uid": "u1"}}
    old = owned("ConfigMap", "c", {**owner, "apiVersion": "v1"})
    old["metadata"].update(namespace="default", uid="old")
    new = {**old, "metadata": {**old["metadata"], "uid": "new"}}
    graph.observe(new)
    graph.forget(gc.ObjectKey.of(old), "old")  # a late event about the old object
    assert graph.dependents("u1") == [gc.ObjectKey("ConfigMap", "default", "c")]

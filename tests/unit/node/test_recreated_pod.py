"""A pod deleted and recreated under the same name: nothing the node does for the old
uid may touch the new pod (its object, its finalizer, its directories)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from petset.api.meta import Obj, uid_of
from petset.api.settings import Settings
from petset.node.binding import FINALIZER
from petset.node.node import Node, newest
from petset.node.paths import pod_dir
from petset.node.podworker import PodWorker
from petset.runtime.memory import MemoryCluster


def _spec() -> dict[str, Any]:
    return {
        "volumes": [{"name": "data", "emptyDir": {}}],
        "containers": [{"name": "c", "image": "x", "command": ["sleep", "60"]}],
    }


def _create(cluster: MemoryCluster, name: str = "web-0") -> Obj:
    return cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "finalizers": [FINALIZER]},
            "spec": _spec(),
        }
    )


def _wait_done(node: Node) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(w.done.is_set() for w in node._all_workers()):
            return
        time.sleep(0.01)
    raise AssertionError("workers did not finish")


def test_a_late_event_of_the_old_uid_leaves_the_new_pod_alone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    cluster = MemoryCluster()
    node = Node(settings, cluster, logger=logging.getLogger("test"))
    old = _create(cluster)
    cluster.delete("Pod", "web-0", "default")
    old_deleting = cluster.get("Pod", "web-0", "default")
    cluster.patch("Pod", "web-0", "default", {"metadata": {"finalizers": None}})
    new = _create(cluster)
    cluster.update_status({**new, "status": {"phase": "Running"}})
    data = pod_dir(settings, new) / "volumes" / "data"
    data.mkdir(parents=True)
    (data / "f").write_text("new pod's data")

    # Events of the old pod that reach the node late (a replayed watch, a slow watch
    # thread): the node must not start a worker that acts on the new pod by name.
    node._handle("ADDED", old)
    node._handle("MODIFIED", old_deleting)
    _wait_done(node)
    node._handle("MODIFIED", old_deleting)
    _wait_done(node)

    stored = cluster.get("Pod", "web-0", "default")
    assert uid_of(stored) == uid_of(new)
    assert (data / "f").read_text() == "new pod's data"
    assert FINALIZER in stored["metadata"]["finalizers"]
    assert stored["status"] == {"phase": "Running"}
    assert not pod_dir(settings, old).exists()


def test_a_late_added_event_of_a_gone_pod_starts_nothing(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    cluster = MemoryCluster()
    node = Node(settings, cluster, logger=logging.getLogger("test"))
    gone = _create(cluster)
    cluster.delete("Pod", "web-0", "default")
    cluster.patch("Pod", "web-0", "default", {"metadata": {"finalizers": None}})
    node._handle("ADDED", gone)
    _wait_done(node)
    assert not pod_dir(settings, gone).exists()
    assert not [e for e in cluster.events if e["reason"] == "Started"]
    node._handle("MODIFIED", gone)  # remembered as finished: no second worker
    assert node._all_workers() == []


def test_watch_resumes_from_the_newest_version_seen() -> None:
    assert newest(None, "7") == "7"
    assert newest("12", "7") == "12"  # initial ADDED events come in name order
    assert newest("7", "12") == "12"
    assert newest("7", "") == "7"


def test_relist_after_gone_tells_workers_of_pods_deleted_meanwhile(tmp_path: Path) -> None:
    cluster = MemoryCluster()
    node = Node(Settings(home=tmp_path), cluster, logger=logging.getLogger("test"))
    kept, vanished = _create(cluster), _create(cluster, "web-1")
    cluster.delete("Pod", "web-1", "default")
    cluster.patch("Pod", "web-1", "default", {"metadata": {"finalizers": None}})
    workers = {uid_of(p): PodWorker(node._ctx, p) for p in (kept, vanished)}
    node._workers = dict(workers)
    node._relist()
    assert workers[uid_of(vanished)].deleted
    assert not workers[uid_of(kept)].deleted

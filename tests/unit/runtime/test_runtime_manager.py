"""Manager: shared watches, owner enqueueing, requeue, errors, relist after Gone."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from petset.api.errors import GoneError, NotFoundError
from petset.api.meta import Obj, ObjectKey, owner_reference
from petset.runtime.cluster import Cluster, WatchEvent
from petset.runtime.controller import Controller, Result, TemporaryError
from petset.runtime.local import LocalCluster
from petset.runtime.manager import Manager
from petset.store import Store


class Recorder:
    """A reconcile that records what it was called with and answers a script."""

    def __init__(self) -> None:
        self.calls: list[ObjectKey] = []
        self.lock = threading.Lock()
        self.answers: dict[str, list[object]] = {}

    def __call__(self, cluster: Cluster, key: ObjectKey) -> Result:
        with self.lock:
            self.calls.append(key)
            script = self.answers.get(key.name)
            answer = script.pop(0) if script else None
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, Result):
            return answer
        try:
            cluster.get(key.kind, key.name, key.namespace)
        except NotFoundError:
            return Result("gone")
        return Result("seen")

    def count(self, name: str) -> int:
        with self.lock:
            return sum(1 for k in self.calls if k.name == name)


@pytest.fixture
def cluster(tmp_path: Path) -> LocalCluster:
    return LocalCluster(Store(tmp_path / "state.db"))


def run(cluster: Cluster, controllers: list[Controller]) -> Manager:
    mgr = Manager(cluster, controllers, watch_timeout=0.1)
    mgr.start()
    return mgr


def sts(name: str) -> Obj:
    return {"kind": "StatefulSet", "metadata": {"name": name}, "spec": {"replicas": 1}}


def test_existing_objects_owned_objects_and_mapped_objects(cluster: LocalCluster) -> None:
    owner = cluster.create(sts("web"))
    rec = Recorder()
    pod = {"kind": "Pod", "metadata": {"name": "web-0"}, "spec": {}}
    pod["metadata"]["ownerReferences"] = [owner_reference(owner)]
    cluster.create(pod)

    def by_config(_: Cluster, cm: Obj) -> list[ObjectKey]:
        return [ObjectKey("StatefulSet", "default", cm["data"]["for"])]

    ctrl = Controller("sts", "StatefulSet", rec, owns=("Pod",), watches=(("ConfigMap", by_config),))
    mgr = run(cluster, [ctrl])
    try:
        assert mgr.wait_idle(5)
        assert rec.count("web") >= 1  # existing objects are reconciled at start
        assert mgr.last_message("sts", ObjectKey("StatefulSet", "default", "web")) == "seen"
        before = rec.count("web")
        cluster.patch("Pod", "web-0", "default", {"status": {"phase": "Running"}})
        assert mgr.wait_idle(5)
        assert rec.count("web") > before  # a change of an owned pod enqueues its owner
        cluster.create({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"for": "db"}})
        assert mgr.wait_idle(5)
        assert rec.count("db") == 1  # the mapper's key
    finally:
        assert mgr.stop(2)


def test_requeue_temporary_errors_and_crashes(
    cluster: LocalCluster, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    rec.answers["a"] = [Result("later", requeue_after=0.05)]
    rec.answers["b"] = [TemporaryError("not yet"), TemporaryError("still not", delay=0.02)]
    rec.answers["c"] = [RuntimeError("boom"), RuntimeError("boom again")]
    for name in "abc":
        cluster.create(sts(name))
    caplog.set_level(logging.INFO, logger="petset.manager")
    mgr = run(cluster, [Controller("sts", "StatefulSet", rec, workers=2)])
    try:
        assert mgr.wait_idle(5)
        assert rec.count("a") == 2 and rec.count("b") == 3 and rec.count("c") == 3
        key = ObjectKey("StatefulSet", "default", "c")
        assert mgr.last_message("sts", key) == "seen"  # the worker survived the crashes
    finally:
        mgr.stop(2)
    crashes = [r for r in caplog.records if "reconcile StatefulSet/default/c failed" in r.message]
    assert len(crashes) == 2 and all(r.exc_info for r in crashes)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("StatefulSet/default/a: later" in m for m in messages) == 1
    assert any("not yet (retrying in" in m for m in messages)


class BlindCluster(LocalCluster):
    """Drops watch events while `blind`, then answers Gone once: the manager
    must list again and notice what was deleted meanwhile."""

    blind = False
    gone_once = False

    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[WatchEvent]:
        if self.gone_once and resource_version and kind == "StatefulSet":
            self.gone_once = self.blind = False
            raise GoneError("compacted")
        for ev in super().watch(
            kind, namespace, resource_version=resource_version, timeout=timeout
        ):
            if not self.blind:
                yield ev


def test_relist_after_gone_delivers_missed_deletions(tmp_path: Path) -> None:
    cluster = BlindCluster(Store(tmp_path / "s.db"))
    cluster.create(sts("keep"))
    cluster.create(sts("lost"))
    rec = Recorder()
    mgr = run(cluster, [Controller("sts", "StatefulSet", rec)])
    try:
        assert mgr.wait_idle(5)
        # The running watch drops the deletion; the next one is told Gone.
        cluster.blind = cluster.gone_once = True
        cluster.delete("StatefulSet", "lost")
        for _ in range(100):
            if rec.count("lost") >= 2:
                break
            mgr.wait_idle(0.1)
        assert rec.count("lost") == 2
        assert mgr.last_message("sts", ObjectKey("StatefulSet", "default", "lost")) == "gone"
    finally:
        mgr.stop(2)


@pytest.mark.parametrize("backend", ["local", "memory"])
def test_long_watches_deliver_at_once_and_stop_at_once(tmp_path: Path, backend: str) -> None:
    """By default a watch waits minutes for a change (no idle re-watch each second),
    yet events still arrive at once and stop() interrupts the waiting watches."""
    from petset.runtime.memory import MemoryCluster

    cl: Cluster = (
        LocalCluster(Store(tmp_path / "state.db")) if backend == "local" else MemoryCluster()
    )
    rec = Recorder()
    mgr = Manager(cl, [Controller("sts", "StatefulSet", rec, owns=("Pod",))])
    assert mgr._watch_timeout >= 60
    mgr.start()
    try:
        assert mgr.wait_idle(5)
        started = time.monotonic()
        cl.create(sts("web"))
        while rec.count("web") == 0 and time.monotonic() - started < 5:
            time.sleep(0.01)
        assert rec.count("web") == 1
        assert time.monotonic() - started < 2
    finally:
        t = time.monotonic()
        assert mgr.stop(5)
        assert time.monotonic() - t < 2

"""The ReplicaSet controller: pods from the template, surplus ranking, claims, status."""

from __future__ import annotations

import re

import pytest
from deploy_fixtures import NS, World, make_replicaset

from petset.api.errors import PetsetError
from petset.api.meta import Obj, ObjectKey, controller_ref
from petset.controllers import replicaset
from petset.controllers.deployment.common import format_time
from petset.runtime.memory import MemoryCluster

KEY = ObjectKey("ReplicaSet", NS, "cache")


def test_creates_named_owned_pods_and_reports_status() -> None:
    w = World()
    rs = w.cluster.create(make_replicaset(replicas=3))
    w.converge()
    pods = w.pods()
    assert len(pods) == 3
    for pod in pods:
        assert re.fullmatch(r"cache-[bcdfghjklmnpqrstvwxz2456789]{5}", pod["metadata"]["name"])
        ref = controller_ref(pod)
        assert (
            ref is not None and ref["uid"] == rs["metadata"]["uid"] and ref["kind"] == "ReplicaSet"
        )
        assert pod["metadata"]["labels"] == {"app": "cache"}
    status = w.cluster.get("ReplicaSet", "cache", NS)["status"]
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }
    assert sum(e["reason"] == "SuccessfulCreate" for e in w.cluster.events) == 3


def test_available_only_after_min_ready_seconds_and_requeues_for_it() -> None:
    w = World()
    w.cluster.create(make_replicaset(replicas=2, minReadySeconds=30))
    w.converge()
    status = w.cluster.get("ReplicaSet", "cache", NS)["status"]
    assert (status["readyReplicas"], status["availableReplicas"]) == (2, 0)
    result = w.reconcile(KEY)
    assert result.requeue_after == pytest.approx(31.0)
    w.clock.advance(31)
    w.reconcile(KEY)
    assert w.cluster.get("ReplicaSet", "cache", NS)["status"]["availableReplicas"] == 2


def test_scale_down_deletes_unready_pods_first() -> None:
    w = World()
    w.cluster.create(make_replicaset(replicas=3))
    w.reconcile(KEY)
    pods = w.pods()
    laggard = pods[1]["metadata"]["name"]
    w.unready = lambda pod: pod["metadata"]["name"] == laggard
    w.converge()
    rs = w.cluster.get("ReplicaSet", "cache", NS)
    rs["spec"]["replicas"] = 2
    w.cluster.update(rs)
    message = w.reconcile(KEY).message
    assert f"Deleted 1 surplus pods: {laggard}." in message
    assert laggard not in {p["metadata"]["name"] for p in w.pods()}


def test_ranking_prefers_pending_then_newer() -> None:
    def pod(name: str, phase: str, created: str, ready: bool) -> Obj:
        conds = [{"type": "Ready", "status": "True" if ready else "False"}]
        return {
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": "n1"},
            "status": {"phase": phase, "conditions": conds},
        }

    pods = [
        pod("old-ready", "Running", "2030-01-01T00:00:00Z", True),
        pod("new-ready", "Running", "2030-01-01T00:05:00Z", True),
        pod("pending", "Pending", "2030-01-01T00:00:00Z", False),
        pod("not-ready", "Running", "2030-01-01T00:00:00Z", False),
    ]
    order = [p["metadata"]["name"] for p in replicaset.pods_to_delete(pods, 4)]
    assert order == ["pending", "not-ready", "new-ready", "old-ready"]


def test_failed_pod_is_replaced() -> None:
    w = World()
    w.cluster.create(make_replicaset(replicas=2))
    w.converge()
    victim = w.pods()[0]
    victim["status"]["phase"] = "Failed"
    w.cluster.update_status(victim)
    w.converge()
    assert len(w.pods()) == 2
    assert victim["metadata"]["name"] not in {p["metadata"]["name"] for p in w.pods()}
    assert w.cluster.get("ReplicaSet", "cache", NS)["status"]["replicas"] == 2


def test_adopts_matching_orphans_and_releases_pods_that_stop_matching() -> None:
    w = World()
    rs = w.cluster.create(make_replicaset(replicas=2))
    orphan = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stray", "namespace": NS, "labels": {"app": "cache"}},
        "spec": {"containers": [{"name": "app", "image": "v1"}]},
    }
    w.cluster.create(orphan)
    message = w.reconcile(KEY).message
    assert "Adopted orphan Pod stray." in message
    assert controller_ref(w.cluster.get("Pod", "stray", NS))["uid"] == rs["metadata"]["uid"]  # type: ignore[index]
    assert len(w.pods()) == 2  # the orphan counts: only one new pod was made
    w.converge()
    stray = w.cluster.get("Pod", "stray", NS)
    stray["metadata"]["labels"] = {"app": "debug"}
    w.cluster.update(stray)
    message = w.reconcile(KEY).message
    assert "Released Pod stray: labels no longer match." in message
    assert controller_ref(w.cluster.get("Pod", "stray", NS)) is None
    owned = [p for p in w.pods() if controller_ref(p)]
    assert len(owned) == 2  # a replacement was made


class FailingPods(MemoryCluster):
    """Every pod creation fails, as with a quota or an admission rejection."""

    def __init__(self, allowed: int = 0) -> None:
        super().__init__()
        self.attempts = 0
        self.allowed = allowed

    def create(self, obj: Obj) -> Obj:
        if obj["kind"] == "Pod":
            self.attempts += 1
            if self.attempts > self.allowed:
                raise PetsetError("pods are forbidden: exceeded quota")
        return super().create(obj)


def test_slow_start_stops_at_first_failure_and_reports_it() -> None:
    cluster = FailingPods()
    cluster.create(make_replicaset(replicas=10))
    now = World().clock
    result = replicaset.reconcile(cluster, KEY, clock=now)
    assert cluster.attempts == 1
    assert "Created 0 of 10 missing pods." in result.message
    cond = cluster.get("ReplicaSet", "cache", NS)["status"]["conditions"][0]
    assert (cond["type"], cond["reason"]) == ("ReplicaFailure", "FailedCreate")
    assert cond["lastTransitionTime"] == format_time(now())


def test_slow_start_batches_double_until_one_fails() -> None:
    cluster = FailingPods(allowed=4)  # batches 1 and 2 succeed; the batch of 4 fails on its 2nd
    cluster.create(make_replicaset(replicas=10))
    result = replicaset.reconcile(cluster, KEY, clock=World().clock)
    assert cluster.attempts == 5
    assert "Created 4 of 10 missing pods." in result.message
    assert cluster.get("ReplicaSet", "cache", NS)["status"]["replicas"] == 4

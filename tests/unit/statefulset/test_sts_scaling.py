"""Scaling a StatefulSet: identity, storage, ordering, Parallel, ordinals.start, status."""

from __future__ import annotations

from petset.controllers.statefulset import controller
from petset.controllers.statefulset.identity import is_running_and_ready

from .sts_fakes import (
    NS,
    Driver,
    created_in_order,
    deletions_in_reverse_order,
    patch_spec,
    pods_by_ordinal,
    statefulset,
    successors_not_ready_before_predecessors,
)


def _events(driver: Driver) -> list[str]:
    return [e["message"] for e in driver.cluster.events]


def test_controller_declares_its_kinds() -> None:
    c = controller()
    assert c.kind == "StatefulSet"
    assert set(c.owns) == {"Pod", "PersistentVolumeClaim", "ControllerRevision"}


def test_ordered_ready_creates_one_pod_at_a_time_with_identity_and_claims() -> None:
    d = Driver()
    d.checks += [created_in_order(), successors_not_ready_before_predecessors]
    sts = d.cluster.create(statefulset(replicas=3))
    first = d.reconcile()
    assert first.message == "created web-0 (1 of 3)"
    assert [p["metadata"]["name"] for p in d.cluster.list("Pod", NS)] == ["web-0"]
    # Blocked while web-0 is not Ready: nothing else is created.
    blocked = d.reconcile()
    assert blocked.message.startswith("waiting for web-0 to be Ready")
    assert len(d.cluster.list("Pod", NS)) == 1

    final = d.converge()
    assert final.message.startswith("3 of 3 pods Ready at revision web-")
    assert d.created_order == ["web-0", "web-1", "web-2"]
    pods = pods_by_ordinal(d.cluster)
    for i, pod in enumerate(pods):
        name = f"web-{i}"
        labels = pod["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == name
        assert labels["apps.kubernetes.io/pod-index"] == str(i)
        assert labels["controller-revision-hash"] == final.message.split()[-1]
        assert pod["spec"]["hostname"] == name and pod["spec"]["subdomain"] == "web"
        ref = pod["metadata"]["ownerReferences"][0]
        assert ref["uid"] == sts["metadata"]["uid"] and ref["controller"] is True
        volume = pod["spec"]["volumes"][0]
        assert volume == {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}}
        claim = d.cluster.get("PersistentVolumeClaim", f"data-{name}", NS)
        assert claim["metadata"]["labels"] == {"app": "web"}
        assert not claim["metadata"].get("ownerReferences")  # Retain/Retain
    messages = _events(d)
    assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in messages
    assert "create Pod web-1 in StatefulSet web successful" in messages
    # Claims are created before their pod.
    assert messages.index("create Claim data-web-1 Pod web-1 in StatefulSet web success") < (
        messages.index("create Pod web-1 in StatefulSet web successful")
    )
    status = d.cluster.get("StatefulSet", "web", NS)["status"]
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 3
    assert status["currentReplicas"] == status["updatedReplicas"] == 3
    assert status["currentRevision"] == status["updateRevision"]
    assert status["observedGeneration"] == 1 and status["collisionCount"] == 0
    cond = status["conditions"][0]
    assert cond["type"] == "Progressing" and cond["message"] == final.message


def test_scale_down_deletes_highest_ordinal_first_one_at_a_time() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=5))
    d.converge()
    d.checks.append(successors_not_ready_before_predecessors)

    def one_terminating_at_most(cluster, result) -> None:  # type: ignore[no-untyped-def]
        terminating = [p for p in cluster.list("Pod", NS) if p["metadata"].get("deletionTimestamp")]
        assert len(terminating) <= 1

    d.checks.append(one_terminating_at_most)
    patch_spec(d.cluster, replicas=2)
    step = d.reconcile()
    assert step.message == "deleting web-4 (scaling down to 2)"
    assert d.reconcile().message == "waiting for web-4 to terminate (scaling down to 2)"
    d.converge()
    assert d.deleted_order == ["web-4", "web-3", "web-2"]
    assert [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)] == ["web-0", "web-1"]
    # Retain: the claims of removed members stay for when they come back.
    assert len(d.cluster.list("PersistentVolumeClaim", NS)) == 5
    assert "delete Pod web-3 in StatefulSet web successful" in _events(d)


def test_scale_down_waits_while_a_remaining_pod_is_unhealthy() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=3))
    d.converge()
    d.kubelet.fail.add("web-0")
    d.kubelet.step()
    patch_spec(d.cluster, replicas=2)
    result = d.reconcile()
    # web-0 is Failed: it is recreated first, web-2 stays until web-0 is back.
    assert result.message == "recreating web-0: it stopped with phase Failed"
    assert d.cluster.get("Pod", "web-2", NS)["metadata"].get("deletionTimestamp") is None
    d.kubelet.fail.clear()
    d.converge()
    assert [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)] == ["web-0", "web-1"]


def test_scale_down_of_unhealthy_pods_halts_then_goes_in_reverse_order() -> None:
    """Kubernetes' e2e "halt if any stateful pod is unhealthy", scaled to 0: every pod
    unhealthy, then made healthy again from web-0 up (issue 4 doubted the order)."""
    d = Driver()
    d.cluster.create(statefulset(replicas=3))
    d.converge()
    d.checks.append(deletions_in_reverse_order)
    d.kubelet.unready |= {"web-0", "web-1", "web-2"}
    d.kubelet.step()
    patch_spec(d.cluster, replicas=0)

    def alive() -> list[str]:
        return [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)]

    # The first unhealthy pod is web-0: web-2 waits for it (and then for web-1).
    assert d.rounds(3).message == (
        "waiting for web-0 to be Ready before deleting web-2 (scaling down to 0)"
    )
    d.kubelet.unready.discard("web-0")
    assert d.rounds(3).message == (
        "waiting for web-1 to be Ready before deleting web-2 (scaling down to 0)"
    )
    assert alive() == ["web-0", "web-1", "web-2"] and d.deleted_order == []
    # With web-1 healthy, the unhealthy web-2 is the first unhealthy pod: it may go.
    d.kubelet.unready.discard("web-1")
    d.kubelet.step()
    assert d.reconcile().message == "deleting web-2 (scaling down to 0)"
    d.converge()
    assert alive() == [] and d.deleted_order == ["web-2", "web-1", "web-0"]


def test_scale_up_after_scale_down_reattaches_the_same_claims() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    uid = d.cluster.get("PersistentVolumeClaim", "data-web-1", NS)["metadata"]["uid"]
    patch_spec(d.cluster, replicas=1)
    d.converge()
    patch_spec(d.cluster, replicas=2)
    d.converge()
    assert d.cluster.get("PersistentVolumeClaim", "data-web-1", NS)["metadata"]["uid"] == uid
    pod = d.cluster.get("Pod", "web-1", NS)
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "data-web-1"


def test_parallel_creates_every_pod_in_one_pass() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=3, podManagementPolicy="Parallel"))
    result = d.reconcile()
    assert result.message == "created web-0, web-1, web-2"
    assert len(d.cluster.list("Pod", NS)) == 3
    d.converge()
    patch_spec(d.cluster, replicas=1)
    assert d.reconcile().message == "deleting web-2, web-1 (scaling down to 1)"


def test_ordinals_start_names_pods_from_the_start_ordinal() -> None:
    d = Driver()
    d.checks.append(created_in_order())
    d.cluster.create(statefulset(replicas=2, ordinals={"start": 5}))
    d.converge()
    names = [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)]
    assert names == ["web-5", "web-6"]
    labels = d.cluster.get("Pod", "web-5", NS)["metadata"]["labels"]
    assert labels["apps.kubernetes.io/pod-index"] == "5"
    # Moving the start condemns what falls outside the range.
    patch_spec(d.cluster, ordinals={"start": 6})
    d.converge()
    names = [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)]
    assert names == ["web-6", "web-7"]


def test_failed_and_succeeded_pods_are_recreated() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    old_uid = d.cluster.get("Pod", "web-1", NS)["metadata"]["uid"]
    pod = d.cluster.get("Pod", "web-1", NS)
    pod["status"] = {"phase": "Succeeded"}
    d.cluster.update_status(pod)
    assert d.reconcile().message == "recreating web-1: it stopped with phase Succeeded"
    d.converge()
    new = d.cluster.get("Pod", "web-1", NS)
    assert new["metadata"]["uid"] != old_uid and is_running_and_ready(new)


def test_identity_is_repaired_in_place() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=1))
    d.converge()
    pod = d.cluster.get("Pod", "web-0", NS)
    uid = pod["metadata"]["uid"]
    del pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"]
    pod["spec"]["subdomain"] = "other"
    d.cluster.update(pod)
    d.reconcile()
    pod = d.cluster.get("Pod", "web-0", NS)
    assert pod["metadata"]["uid"] == uid
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
    assert pod["spec"]["subdomain"] == "web"
    assert "update Pod web-0 in StatefulSet web successful" in _events(d)


def test_status_is_not_rewritten_when_nothing_changed() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    rv = d.cluster.get("StatefulSet", "web", NS)["metadata"]["resourceVersion"]
    d.reconcile()
    d.reconcile()
    assert d.cluster.get("StatefulSet", "web", NS)["metadata"]["resourceVersion"] == rv


def test_min_ready_seconds_gates_the_next_pod_and_requeues() -> None:
    d = Driver()
    d.checks.append(created_in_order())
    d.cluster.create(statefulset(replicas=2, minReadySeconds=10))
    d.reconcile()
    d.kubelet.step()
    result = d.reconcile()
    assert result.message == (
        "waiting for web-0 to be available (Ready for less than minReadySeconds=10)"
    )
    assert result.requeue_after == 10.0
    assert len(d.cluster.list("Pod", NS)) == 1
    status = d.cluster.get("StatefulSet", "web", NS)["status"]
    assert status["readyReplicas"] == 1 and status["availableReplicas"] == 0
    d.clock.advance(11)
    assert d.reconcile().message == "created web-1 (2 of 2)"

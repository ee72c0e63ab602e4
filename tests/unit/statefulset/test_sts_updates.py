"""Rolling updates: order, partition, maxUnavailable, OnDelete, pause, stuck recovery."""

from __future__ import annotations

from petset.controllers.statefulset import rollout
from petset.controllers.statefulset.identity import is_running_and_ready, ordinal_of
from petset.runtime.controller import Result
from petset.runtime.memory import MemoryCluster

from .sts_fakes import (
    NS,
    Driver,
    created_in_order,
    patch_spec,
    pods_by_ordinal,
    set_image,
    statefulset,
)


def _revisions(cluster: MemoryCluster) -> dict[str, str]:
    return {
        p["metadata"]["name"]: p["metadata"]["labels"]["controller-revision-hash"]
        for p in cluster.list("Pod", NS)
    }


def _status(cluster: MemoryCluster) -> dict:  # type: ignore[type-arg]
    return dict(cluster.get("StatefulSet", "web", NS)["status"])


def _unavailable(cluster: MemoryCluster, replicas: int) -> int:
    pods = {p["metadata"]["name"]: p for p in cluster.list("Pod", NS)}
    return sum(
        1
        for i in range(replicas)
        if f"web-{i}" not in pods
        or not is_running_and_ready(pods[f"web-{i}"])
        or pods[f"web-{i}"]["metadata"].get("deletionTimestamp")
    )


def _monotonic_updates(update_revision: list[str]):  # type: ignore[no-untyped-def]
    """Once a pod is at the update revision, every higher ordinal stays updated."""

    def check(cluster: MemoryCluster, result: Result) -> None:
        revisions = _revisions(cluster)
        want = update_revision[0]
        updated = sorted(
            ordinal_of({"metadata": {"name": n}}) for n, r in revisions.items() if r == want
        )
        if updated:
            top = max(ordinal_of({"metadata": {"name": n}}) for n in revisions)
            lowest = min(updated)
            for ordinal in range(lowest, top + 1):
                name = f"web-{ordinal}"
                assert name not in revisions or revisions[name] == want, (
                    f"{name} not updated while web-{lowest} is"
                )

    return check


def test_rolling_update_goes_from_the_highest_ordinal_one_at_a_time() -> None:
    d = Driver()
    d.checks.append(created_in_order())
    d.cluster.create(statefulset(replicas=3))
    d.converge()
    old = _status(d.cluster)["currentRevision"]
    set_image(d.cluster, "nginx:2")
    target: list[str] = []
    step = d.reconcile()
    target.append(_status(d.cluster)["updateRevision"])
    assert target[0] != old
    assert step.message == f"updating web-2 to revision {target[0]} (0 of 3 updated)"
    d.checks.append(_monotonic_updates(target))
    d.checks.append(lambda c, r: _check_at_most(c, 1))
    d.converge()
    assert d.deleted_order == ["web-2", "web-1", "web-0"]
    assert set(_revisions(d.cluster).values()) == {target[0]}
    status = _status(d.cluster)
    assert status["currentRevision"] == status["updateRevision"] == target[0]
    assert status["currentReplicas"] == status["updatedReplicas"] == 3
    messages = [e["message"] for e in d.cluster.events]
    assert f"updating web-1 to revision {target[0]} (1 of 3 updated)" in messages


def _check_at_most(cluster: MemoryCluster, n: int) -> None:
    assert _unavailable(cluster, 3) <= n


def test_partition_keeps_lower_ordinals_at_the_current_revision() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(
            replicas=3, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
        )
    )
    d.converge()
    old = _status(d.cluster)["currentRevision"]
    set_image(d.cluster, "nginx:2")
    result = d.converge()
    new = _status(d.cluster)["updateRevision"]
    assert _revisions(d.cluster) == {"web-0": old, "web-1": old, "web-2": new}
    assert result.message == (
        f"partitioned rollout: 1 of 3 pods at revision {new} (indexes >= 2); "
        "lower rollingUpdate.partition to continue"
    )
    assert rollout.rollout_status(d.cluster.get("StatefulSet", "web", NS)) == (
        True,
        "partitioned roll out complete: 1 new pods have been updated...\n",
    )
    # A deleted pod below the partition comes back at the current revision.
    d.cluster.delete("Pod", "web-0", NS)
    d.converge()
    assert _revisions(d.cluster)["web-0"] == old
    patch_spec(d.cluster, updateStrategy={"rollingUpdate": {"partition": 0}})
    d.converge()
    assert set(_revisions(d.cluster).values()) == {new}
    assert _status(d.cluster)["currentRevision"] == new


def test_pods_below_the_partition_all_gone_come_back_at_the_current_revision() -> None:
    """Upstream bug kubernetes#121534 (seen in the canary e2e on a loaded machine): when
    every pod below the partition is gone at once (deleted, or scaled away), the
    remaining pods are all updated and Ready, so upstream's completeRollingUpdate made
    the update revision current, and the gone pods came back at the update revision."""
    d = Driver()
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    d.cluster.create(statefulset(replicas=3, updateStrategy=strategy))
    d.converge()
    old = _status(d.cluster)["currentRevision"]
    set_image(d.cluster, "nginx:2")
    d.converge()
    new = _status(d.cluster)["updateRevision"]
    # Both terminate before the controller's next pass (a slow controller on a busy machine).
    d.cluster.delete("Pod", "web-0", NS)
    d.cluster.delete("Pod", "web-1", NS)
    d.kubelet.step()
    assert [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)] == ["web-2"]
    d.reconcile()
    assert _status(d.cluster)["currentRevision"] == old
    d.converge()
    assert _revisions(d.cluster) == {"web-0": old, "web-1": old, "web-2": new}
    assert _status(d.cluster)["currentRevision"] == old
    # Scaled to 0 and back (the issue's own reproduction): same.
    patch_spec(d.cluster, replicas=0)
    d.converge()
    assert _status(d.cluster)["currentRevision"] == old
    patch_spec(d.cluster, replicas=3)
    d.converge()
    assert _revisions(d.cluster) == {"web-0": old, "web-1": old, "web-2": new}
    # With the partition at 0 the rollout completes and the update revision is current.
    patch_spec(d.cluster, updateStrategy={"rollingUpdate": {"partition": 0}})
    d.converge()
    assert set(_revisions(d.cluster).values()) == {new}
    assert _status(d.cluster)["currentRevision"] == new


def test_max_unavailable_replaces_several_pods_at_once_but_never_more() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(
            replicas=5,
            podManagementPolicy="Parallel",
            updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}},
        )
    )
    d.converge()
    set_image(d.cluster, "nginx:2")
    first = d.reconcile()
    assert first.message.startswith("updating web-4, web-3 to revision ")
    peak = [0]

    def budget(cluster: MemoryCluster, result: Result) -> None:
        down = _unavailable(cluster, 5)
        peak[0] = max(peak[0], down)
        assert down <= 2

    d.checks.append(budget)
    d.converge()
    assert peak[0] == 2
    assert d.deleted_order == ["web-4", "web-3", "web-2", "web-1", "web-0"]
    assert len(set(_revisions(d.cluster).values())) == 1


def test_max_unavailable_percentage_rounds_down_to_at_least_one() -> None:
    from petset.controllers.statefulset.rolling import max_unavailable

    def sts(value: object) -> dict:  # type: ignore[type-arg]
        return {
            "spec": {"replicas": 3, "updateStrategy": {"rollingUpdate": {"maxUnavailable": value}}}
        }

    assert max_unavailable(sts("50%")) == 1
    assert max_unavailable(sts("10%")) == 1
    assert max_unavailable(sts(2)) == 2


def test_on_delete_changes_nothing_until_a_pod_is_deleted() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=3, updateStrategy={"type": "OnDelete"}))
    d.converge()
    old = _status(d.cluster)["currentRevision"]
    set_image(d.cluster, "nginx:2")
    result = d.converge()
    new = _status(d.cluster)["updateRevision"]
    assert new != old
    assert set(_revisions(d.cluster).values()) == {old}
    assert d.deleted_order == []
    assert result.message == (
        f"OnDelete: 0 of 3 pods at revision {new}; delete the others to update them"
    )
    d.cluster.delete("Pod", "web-1", NS)
    d.converge()
    assert _revisions(d.cluster) == {"web-0": old, "web-1": new, "web-2": old}


def test_pause_holds_the_rollout_but_not_scaling() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    old = _status(d.cluster)["currentRevision"]
    rollout.rollout_pause(d.cluster, NS, "web")
    set_image(d.cluster, "nginx:2")
    result = d.converge()
    new = _status(d.cluster)["updateRevision"]
    assert set(_revisions(d.cluster).values()) == {old}
    assert result.message == (
        f"rollout paused: 0 of 2 pods at revision {new}; "
        "run `petset rollout resume statefulset/web` to continue"
    )
    cond = _status(d.cluster)["conditions"][0]
    assert cond["status"] == "Unknown" and cond["reason"] == "RolloutPaused"
    done, message = rollout.rollout_status(d.cluster.get("StatefulSet", "web", NS))
    assert not done and message.startswith("Rollout is paused")
    patch_spec(d.cluster, replicas=3)
    d.converge()
    assert _revisions(d.cluster) == {"web-0": old, "web-1": old, "web-2": old}
    rollout.rollout_resume(d.cluster, NS, "web")
    d.converge()
    assert set(_revisions(d.cluster).values()) == {new}


def test_stuck_rollout_recovers_when_the_template_is_undone() -> None:
    """kubernetes#67250: a pod from a broken template no longer blocks the fix."""
    d = Driver()
    d.checks.append(created_in_order())
    d.cluster.create(statefulset(replicas=3))
    d.converge()
    good = _status(d.cluster)["currentRevision"]
    d.kubelet.bad_images.add("nginx:broken")
    set_image(d.cluster, "nginx:broken")
    stuck = d.rounds(10)
    bad = _status(d.cluster)["updateRevision"]
    assert stuck.message == (
        "waiting for web-2 to be Ready (readiness probe failing) (1 of 3 updated)"
    )
    assert _revisions(d.cluster)["web-2"] == bad
    assert _status(d.cluster)["conditions"][0]["message"] == stuck.message
    # Upstream would now wait forever; petset replaces the stuck pod on undo.
    rollout.rollout_undo(d.cluster, NS, "web", None)
    step = d.reconcile()
    assert step.message == (
        f"replacing web-2: stuck at superseded revision {bad} (readiness probe failing); "
        f"it will be recreated at revision {good}"
    )
    d.converge()
    pods = pods_by_ordinal(d.cluster)
    assert all(is_running_and_ready(p) for p in pods)
    assert set(_revisions(d.cluster).values()) == {good}
    assert _status(d.cluster)["currentRevision"] == good


def test_stuck_rollout_recovers_when_the_template_is_fixed_forward() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=3))
    d.converge()
    d.kubelet.bad_images.add("nginx:broken")
    set_image(d.cluster, "nginx:broken")
    d.rounds(5)
    set_image(d.cluster, "nginx:3")
    d.converge()
    status = _status(d.cluster)
    assert set(_revisions(d.cluster).values()) == {status["updateRevision"]}
    assert status["currentRevision"] == status["updateRevision"]
    assert status["readyReplicas"] == 3


def test_an_unready_pod_at_the_current_revision_is_not_touched_by_recovery() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    d.kubelet.bad_images.add("nginx:1")  # the current template stops being Ready
    d.rounds(3)
    assert d.deleted_order == []
    assert d.results[-1].message.startswith("waiting for web-0 to be Ready")


def test_a_first_template_that_never_became_ready_is_replaced_when_fixed() -> None:
    """kubernetes#67250 as most users meet it: the very first template is broken, so the
    current revision itself never became Ready; fixing the template recovers."""
    d = Driver()
    d.checks.append(created_in_order())
    d.kubelet.bad_images.add("nginx:broken")
    d.cluster.create(statefulset(replicas=3))
    set_image(d.cluster, "nginx:broken")  # before the first pass: web-0 starts broken
    d.rounds(5)
    assert [p["metadata"]["name"] for p in pods_by_ordinal(d.cluster)] == ["web-0"]
    broken = _status(d.cluster)["currentRevision"]
    set_image(d.cluster, "nginx:3")
    step = d.reconcile()
    assert step.message.startswith(f"replacing web-0: not Ready at revision {broken}")
    d.converge()
    status = _status(d.cluster)
    assert status["readyReplicas"] == 3
    assert status["currentRevision"] == status["updateRevision"] != broken

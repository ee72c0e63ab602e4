"""Deployment rollouts driven to convergence, invariants asserted at every moment."""

from __future__ import annotations

import pytest
from deploy_fixtures import NS, World, image_of, make_deployment, pods_by_hash

from petset.api.meta import Obj, ObjectKey, annotations_of, labels_of
from petset.controllers.deployment import util
from petset.controllers.deployment.conditions import get_condition
from petset.controllers.deployment.reconcile import deployment_of_pod


def rolling_bounds(replicas: int, surge: int, unavailable: int):  # type: ignore[no-untyped-def]
    def check(w: World) -> None:
        pods = w.pods()
        assert len(pods) <= replicas + surge, f"{len(pods)} pods > {replicas}+{surge}"
        available = len(w.available_pods())
        assert available >= replicas - unavailable, f"{available} available"

    return check


def _new_rs(w: World) -> Obj:
    d = w.deployment()
    found = util.find_new_rs(d, w.replica_sets())
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("replicas", "strategy", "surge", "unavailable"),
    [
        (4, {"maxSurge": 1, "maxUnavailable": 1}, 1, 1),
        (10, {}, 3, 2),  # the 25% defaults: surge rounds up, unavailable down
        (3, {"maxSurge": 0, "maxUnavailable": 1}, 0, 1),
        (3, {"maxSurge": "50%", "maxUnavailable": 0}, 2, 0),
    ],
)
@pytest.mark.parametrize("shuffled", [False, True])
def test_rolling_update_respects_surge_and_availability(
    replicas: int, strategy: Obj, surge: int, unavailable: int, shuffled: bool
) -> None:
    w = World(seed=replicas + surge)
    spec: Obj = {"strategy": {"type": "RollingUpdate", "rollingUpdate": strategy}}
    w.cluster.create(make_deployment(replicas=replicas, **spec))
    w.converge(shuffled)
    assert util.max_surge(util.with_defaults(w.deployment())) == surge
    w.checks.append(rolling_bounds(replicas, surge, unavailable))
    w.set_image("v2")
    w.converge(shuffled)
    assert w.moments > 10
    assert sorted(image_of(p) for p in w.pods()) == ["v2"] * replicas
    d = w.deployment()
    assert annotations_of(d)[util.REVISION] == "2"
    assert d["status"]["updatedReplicas"] == d["status"]["availableReplicas"] == replicas
    progressing = get_condition(d["status"], "Progressing")
    assert progressing is not None and progressing["reason"] == "NewReplicaSetAvailable"
    olds = [rs for rs in w.replica_sets() if rs["metadata"]["uid"] != _new_rs(w)["metadata"]["uid"]]
    assert [rs["spec"]["replicas"] for rs in olds] == [0]


def test_new_replica_set_is_named_by_template_hash() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=3))
    w.converge()
    d = w.deployment()
    (rs,) = w.replica_sets()
    h = util.compute_hash(d["spec"]["template"], None)
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    ann = annotations_of(rs)
    assert (ann[util.REVISION], ann[util.DESIRED_REPLICAS], ann[util.MAX_REPLICAS]) == (
        "1",
        "3",
        "4",
    )
    assert all(labels_of(p)["pod-template-hash"] == h for p in w.pods())
    messages = [e["message"] for e in w.cluster.events if e["reason"] == "ScalingReplicaSet"]
    assert messages == [f"Scaled up replica set web-{h} from 0 to 3"]
    available = get_condition(d["status"], "Available")
    assert available is not None and available["reason"] == "MinimumReplicasAvailable"
    status = {k: v for k, v in d["status"].items() if k != "conditions"}
    assert status == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "unavailableReplicas": 0,
    }


def test_rolling_update_sentences_and_events() -> None:
    w = World()
    w.cluster.create(
        make_deployment(
            replicas=2, strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        )
    )
    w.converge()
    w.set_image("v2")
    w.converge()
    text = " ".join(w.messages)
    assert "(revision 2) with 1 replicas." in text
    assert "Scaled down replica set web-" in text
    assert "Rollout complete: ReplicaSet" in text
    reasons = {e["reason"] for e in w.cluster.events}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "SuccessfulDelete"} <= reasons


@pytest.mark.parametrize("shuffled", [False, True])
def test_recreate_never_runs_old_and_new_pods_together(shuffled: bool) -> None:
    w = World(seed=7)
    w.cluster.create(make_deployment(replicas=3, strategy={"type": "Recreate"}))
    w.converge(shuffled)

    def one_template(world: World) -> None:
        assert len(pods_by_hash(world)) <= 1, pods_by_hash(world)

    w.checks.append(one_template)
    w.set_image("v2")
    w.converge(shuffled)
    assert sorted(image_of(p) for p in w.pods()) == ["v2"] * 3
    scaled = [e["message"] for e in w.cluster.events if e["reason"] == "ScalingReplicaSet"]
    assert scaled[1].startswith("Scaled down replica set") and scaled[1].endswith("from 3 to 0")
    assert scaled[2].startswith("Scaled up replica set") and scaled[2].endswith("from 0 to 3")


def test_invalid_surge_is_reported_not_retried() -> None:
    w = World()
    w.cluster.create(make_deployment(strategy={"rollingUpdate": {"maxSurge": "25"}}))
    result = w.reconcile(ObjectKey("Deployment", NS, "web"))
    assert "cannot roll out" in result.message and "maxSurge" in result.message
    assert result.requeue_after is None
    assert [e["reason"] for e in w.cluster.events] == ["InvalidSpec"]


def test_scale_mid_rollout_is_proportional() -> None:
    w = World()
    strategy = {"rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    w.cluster.create(make_deployment(replicas=10, strategy=strategy))
    w.converge()
    w.unready = lambda pod: image_of(pod) == "v2"
    w.set_image("v2")
    w.converge()
    sizes = {image_of_rs(rs): rs["spec"]["replicas"] for rs in w.replica_sets()}
    assert sizes == {"v1": 8, "v2": 5}  # stuck: the new pods never become ready
    w.edit("web", lambda d: d["spec"].update(replicas=20))
    w.converge()
    # Kubernetes' arithmetic: 23 allowed, 13 now; v1 takes round(8*23/13)-8 = 6, v2 the other 4
    sizes = {image_of_rs(rs): rs["spec"]["replicas"] for rs in w.replica_sets()}
    assert sizes == {"v1": 14, "v2": 9}
    for rs in w.replica_sets():
        ann = annotations_of(rs)
        assert (ann[util.DESIRED_REPLICAS], ann[util.MAX_REPLICAS]) == ("20", "23")
    w.unready = lambda pod: False
    for pod in w.pods():  # the kubelet finally gets the new pods ready
        pod["status"]["conditions"][0]["status"] = "True"
        w.cluster.update_status(pod)
    w.converge()
    assert sorted(image_of(p) for p in w.pods()) == ["v2"] * 20


def image_of_rs(rs: Obj) -> str:
    return str(rs["spec"]["template"]["spec"]["containers"][0]["image"])


def test_scale_down_while_complete_takes_the_one_active_set() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=5))
    w.converge()
    w.edit("web", lambda d: d["spec"].update(replicas=2))
    w.converge()
    assert len(w.pods()) == 2
    assert annotations_of(w.replica_sets()[0])[util.DESIRED_REPLICAS] == "2"


def test_paused_deployment_does_not_roll_but_scales() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=2))
    w.converge()
    w.edit("web", lambda d: d["spec"].update(paused=True))
    w.set_image("v2")
    w.converge()
    assert len(w.replica_sets()) == 1
    assert {image_of(p) for p in w.pods()} == {"v1"}
    progressing = get_condition(w.deployment()["status"], "Progressing")
    assert progressing is not None and progressing["reason"] == "DeploymentPaused"
    w.edit("web", lambda d: d["spec"].update(replicas=4))
    w.converge()
    assert [image_of(p) for p in w.pods()] == ["v1"] * 4
    w.edit("web", lambda d: d["spec"].update(paused=False))
    w.converge()
    assert [image_of(p) for p in w.pods()] == ["v2"] * 4
    assert "Deployment web is resumed." in " ".join(w.messages)


def test_revision_history_limit_deletes_oldest_empty_sets() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=2, revisionHistoryLimit=2))
    w.converge()
    for version in ("v2", "v3", "v4", "v5"):
        w.set_image(version)
        w.converge()
    revisions = sorted(util.revision(rs) for rs in w.replica_sets())
    assert revisions == [3, 4, 5]
    assert any("beyond revisionHistoryLimit 2" in m for m in w.messages)


def test_adopts_orphan_replica_set_matching_the_template() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=2))
    w.converge()
    (rs,) = w.replica_sets()
    w.cluster.delete("Deployment", "web", NS, propagation="Orphan")
    assert (
        w.cluster.get("ReplicaSet", rs["metadata"]["name"], NS)["metadata"]["ownerReferences"] == []
    )
    w.cluster.create(make_deployment(replicas=2))
    w.converge()
    (again,) = w.replica_sets()
    assert again["metadata"]["uid"] == rs["metadata"]["uid"]
    assert again["metadata"]["ownerReferences"][0]["uid"] == w.deployment()["metadata"]["uid"]
    assert len(w.pods()) == 2


@pytest.mark.parametrize("seed", range(20))
def test_rolling_bounds_hold_in_any_queue_order(seed: int) -> None:
    """The manager may run the Deployment twice before an old ReplicaSet deletes its
    surplus; counting spec.replicas alone (as upstream) then overshoots maxSurge."""
    w = World(seed=seed)
    strategy = {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    w.cluster.create(make_deployment(replicas=4, strategy=strategy))
    w.converge(shuffled=True)
    w.checks.append(rolling_bounds(4, 1, 1))
    w.set_image("v2")
    w.converge(shuffled=True)
    assert sorted(image_of(p) for p in w.pods()) == ["v2"] * 4


def test_recreate_waits_for_terminating_pods() -> None:
    w = World()
    d = make_deployment(replicas=2, strategy={"type": "Recreate"})
    d["spec"]["template"]["metadata"]["finalizers"] = ["example.com/drain"]
    w.cluster.create(d)
    w.converge()
    w.set_image("v2")
    w.converge()
    terminating = w.cluster.list("Pod", NS)
    assert len(terminating) == 2 and all(
        p["metadata"].get("deletionTimestamp") for p in terminating
    )
    assert w.pods() == [] and len(w.replica_sets()) == 1  # no new ReplicaSet yet
    waiting = "Waiting for the old pods to terminate before starting new ones."
    assert any(waiting in m for m in w.messages)
    keys = set()
    for pod in terminating:
        pod["metadata"]["finalizers"] = []
        w.cluster.update(pod)
        keys.update(deployment_of_pod(w.cluster, pod))
    assert keys == {ObjectKey("Deployment", NS, "web")}
    w.converge()
    assert [image_of(p) for p in w.pods()] == ["v2", "v2"]

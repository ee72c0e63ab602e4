"""Rollout operations (history, undo, restart, pause, resume, status) and the progress deadline."""

from __future__ import annotations

import pytest
from deploy_fixtures import NS, World, image_of, make_deployment

from petset.api.errors import InvalidError, NotFoundError
from petset.api.meta import ObjectKey, annotations_of, labels_of
from petset.controllers.deployment import rollout, util
from petset.controllers.deployment.conditions import get_condition

KEY = ObjectKey("Deployment", NS, "web")


def _rolled(w: World, *images: str) -> None:
    w.cluster.create(make_deployment(replicas=2))
    w.converge()
    for image in images:

        def change(d: dict, image: str = image) -> None:  # type: ignore[type-arg]
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image
            d["metadata"].setdefault("annotations", {})[util.CHANGE_CAUSE] = f"set image {image}"

        w.edit("web", change)
        w.converge()


def test_history_lists_revisions_with_change_cause() -> None:
    w = World()
    _rolled(w, "v2", "v3")
    history = rollout.rollout_history(w.cluster, NS, "web")
    assert [(r.revision, r.change_cause) for r in history] == [
        (1, ""),
        (2, "set image v2"),
        (3, "set image v3"),
    ]
    assert history[1].template["spec"]["containers"][0]["image"] == "v2"
    assert "pod-template-hash" not in history[1].template["metadata"]["labels"]
    assert history[0].to_dict()["replicaSet"].startswith("web-")


def test_undo_restores_the_previous_template_and_its_hash() -> None:
    w = World()
    _rolled(w, "v2")
    hash_v1 = next(
        labels_of(rs)["pod-template-hash"] for rs in w.replica_sets() if util.revision(rs) == 1
    )
    assert rollout.rollout_undo(w.cluster, NS, "web") == "deployment.apps/web rolled back"
    w.converge()
    d = w.deployment()
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "v1"
    assert "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]
    assert {labels_of(p)["pod-template-hash"] for p in w.pods()} == {hash_v1}
    assert [image_of(p) for p in w.pods()] == ["v1", "v1"]
    assert len(w.replica_sets()) == 2  # the v1 ReplicaSet came back, no third one
    reused = next(rs for rs in w.replica_sets() if labels_of(rs)["pod-template-hash"] == hash_v1)
    ann = annotations_of(reused)
    assert (ann[util.REVISION], ann[util.REVISION_HISTORY]) == ("3", "1")
    assert annotations_of(d)[util.REVISION] == "3"
    assert annotations_of(d).get(util.CHANGE_CAUSE) is None  # revision 1 had none


def test_undo_to_a_named_revision_and_its_errors() -> None:
    w = World()
    _rolled(w, "v2", "v3")
    assert rollout.rollout_undo(w.cluster, NS, "web", to_revision=3).endswith(
        "skipped rollback (current template already matches revision 3)"
    )
    with pytest.raises(NotFoundError, match="unable to find specified revision 9 in history"):
        rollout.rollout_undo(w.cluster, NS, "web", to_revision=9)
    rollout.rollout_undo(w.cluster, NS, "web", to_revision=1)
    w.converge()
    assert [image_of(p) for p in w.pods()] == ["v1", "v1"]
    rollout.rollout_pause(w.cluster, NS, "web")
    with pytest.raises(InvalidError, match="cannot rollback a paused deployment"):
        rollout.rollout_undo(w.cluster, NS, "web")


def test_restart_replaces_every_pod() -> None:
    w = World()
    _rolled(w)
    before = {p["metadata"]["name"] for p in w.pods()}
    message = rollout.rollout_restart(w.cluster, NS, "web", now=w.clock())
    assert message == "deployment.apps/web restarted"
    w.converge()
    after = w.pods()
    assert not before & {p["metadata"]["name"] for p in after}
    stamp = after[0]["metadata"]["annotations"][util.RESTARTED_AT]
    assert stamp == "2030-01-01T00:00:00Z"


def test_pause_and_resume_are_idempotent_sentences() -> None:
    w = World()
    _rolled(w)
    assert rollout.rollout_pause(w.cluster, NS, "web") == "deployment.apps/web paused"
    assert rollout.rollout_pause(w.cluster, NS, "web") == "deployment.apps/web already paused"
    with pytest.raises(InvalidError, match="can't restart paused deployment"):
        rollout.rollout_restart(w.cluster, NS, "web")
    assert rollout.rollout_resume(w.cluster, NS, "web") == "deployment.apps/web resumed"
    assert rollout.rollout_resume(w.cluster, NS, "web") == "deployment.apps/web already resumed"


def test_status_follows_the_rollout_as_kubectl() -> None:
    w = World()
    w.cluster.create(
        make_deployment(
            replicas=2, strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        )
    )
    assert rollout.rollout_status(w.deployment()) == (
        False,
        "Waiting for deployment spec update to be observed...",
    )
    seen: list[str] = []

    def watch(world: World) -> None:
        _done, message = rollout.rollout_status(world.deployment())
        if not seen or seen[-1] != message:
            seen.append(message)

    w.checks.append(watch)
    w.converge()
    w.set_image("v2")
    w.converge()
    assert seen[-1] == 'deployment "web" successfully rolled out'
    waiting = 'Waiting for deployment "web" rollout to finish: '
    assert f"{waiting}1 out of 2 new replicas have been updated..." in seen
    assert f"{waiting}1 old replicas are pending termination..." in seen
    assert any(m.startswith(waiting) and "updated replicas are available" in m for m in seen)


def test_progress_deadline_exceeded_with_a_moving_clock() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=2, progressDeadlineSeconds=60))
    w.converge()
    w.unready = lambda pod: image_of(pod) == "v2"
    w.set_image("v2")
    w.converge()
    result = w.reconcile(KEY)
    assert result.requeue_after == pytest.approx(61.0)  # deadline check when it is due
    w.clock.advance(30)
    w.converge()
    cond = get_condition(w.deployment()["status"], "Progressing")
    assert cond is not None and cond["status"] == "True"
    w.clock.advance(31)
    result = w.reconcile(KEY)
    assert "Progress deadline exceeded" in result.message
    cond = get_condition(w.deployment()["status"], "Progressing")
    assert cond is not None
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert cond["message"].endswith("has timed out progressing.")
    assert any(e["reason"] == "ProgressDeadlineExceeded" for e in w.cluster.events)
    with pytest.raises(
        rollout.ProgressDeadlineExceededError, match="exceeded its progress deadline"
    ):
        rollout.rollout_status(w.deployment())
    # the old pods kept serving: maxUnavailable 25% of 2 rounds down to 0
    assert sorted(image_of(p) for p in w.available_pods()) == ["v1", "v1"]


def test_paused_time_does_not_count_against_the_deadline() -> None:
    w = World()
    w.cluster.create(make_deployment(replicas=1, progressDeadlineSeconds=60, paused=True))
    w.converge()
    w.clock.advance(3600)
    rollout.rollout_resume(w.cluster, NS, "web")
    w.converge()
    cond = get_condition(w.deployment()["status"], "Progressing")
    assert cond is not None and cond["reason"] == "NewReplicaSetAvailable"
    assert rollout.rollout_status(w.deployment())[0]

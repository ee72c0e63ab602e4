"""ControllerRevisions: naming and hashing, history limit, collisions, undo, rollout verbs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from petset.api.errors import InvalidError, NotFoundError
from petset.controllers import history
from petset.controllers.statefulset import rollout
from petset.controllers.statefulset.revisions import get_patch, new_revision
from petset.runtime.memory import MemoryCluster

from .sts_fakes import NS, Driver, set_image, statefulset


def _revisions(cluster: MemoryCluster) -> list[dict]:  # type: ignore[type-arg]
    return history.sort_revisions(cluster.list("ControllerRevision", NS))


def test_fnv32_and_safe_encoding_match_go() -> None:
    # Go: fnv.New32() over "" and "a"; rand.SafeEncodeString("0123456789").
    assert history.fnv32(b"") == 0x811C9DC5
    assert history.fnv32(b"a") == 0x050C5D7E
    assert history.safe_encode("0123456789") == "456789bcdf"


def test_revision_records_the_template_as_a_replace_patch() -> None:
    sts = statefulset()
    sts["metadata"]["uid"] = "u1"
    sts["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
    rev = new_revision(sts, 1, 0)
    assert rev["data"] == get_patch(sts)
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    assert rev["metadata"]["name"] == f"web-{rev['metadata']['labels'][history.HASH_LABEL]}"
    assert rev["metadata"]["labels"]["app"] == "web"
    assert rev["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
    assert rev["metadata"]["ownerReferences"][0]["controller"] is True
    # The collision count changes the name, not the data.
    assert new_revision(sts, 1, 1)["metadata"]["name"] != rev["metadata"]["name"]


def test_name_collision_bumps_collision_count() -> None:
    d = Driver()
    sts = d.cluster.create(statefulset(replicas=1))
    squatter = new_revision(sts, 1, 0)
    squatter["data"] = {"spec": {"template": {"other": True}}}
    squatter["metadata"]["ownerReferences"] = []
    squatter["metadata"]["labels"] = {"unrelated": "x"}
    d.cluster.create(squatter)
    d.converge()
    status = d.cluster.get("StatefulSet", "web", NS)["status"]
    assert status["collisionCount"] == 1
    assert status["updateRevision"] != squatter["metadata"]["name"]


def test_revision_history_limit_keeps_only_revisions_in_use_or_recent() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2, revisionHistoryLimit=2))
    d.converge()
    for version in range(2, 7):
        set_image(d.cluster, f"nginx:{version}")
        d.converge()
    revisions = _revisions(d.cluster)
    numbers = [history.revision_number(r) for r in revisions]
    # Live (current == update) plus two historic ones.
    assert numbers == [4, 5, 6]
    status = d.cluster.get("StatefulSet", "web", NS)["status"]
    assert revisions[-1]["metadata"]["name"] == status["currentRevision"]


def test_a_revision_used_by_a_pod_is_never_pruned() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(
            replicas=2,
            revisionHistoryLimit=0,
            updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
        )
    )
    d.converge()
    first = d.cluster.get("StatefulSet", "web", NS)["status"]["currentRevision"]
    for version in range(2, 5):
        set_image(d.cluster, f"nginx:{version}")
        d.converge()
    names = {r["metadata"]["name"] for r in _revisions(d.cluster)}
    assert first in names  # web-0 still runs it (and it is the current revision)
    assert len(names) == 2


def test_undo_reuses_the_old_revision_with_a_new_number() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    v1 = d.cluster.get("StatefulSet", "web", NS)["status"]["currentRevision"]
    set_image(d.cluster, "nginx:2")
    d.converge()
    v2 = d.cluster.get("StatefulSet", "web", NS)["status"]["currentRevision"]
    undone = rollout.rollout_undo(d.cluster, NS, "web", None)
    assert undone["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    d.converge()
    status = d.cluster.get("StatefulSet", "web", NS)["status"]
    assert status["currentRevision"] == status["updateRevision"] == v1
    revs = {r["metadata"]["name"]: history.revision_number(r) for r in _revisions(d.cluster)}
    assert revs == {v2: 2, v1: 3}
    info = rollout.rollout_history(d.cluster, NS, "web")
    assert [(i.revision, i.name) for i in info] == [(2, v2), (3, v1)]
    assert info[0].template["spec"]["containers"][0]["image"] == "nginx:2"
    # Undo to an explicit revision number.
    rollout.rollout_undo(d.cluster, NS, "web", 2)
    d.converge()
    assert d.cluster.get("StatefulSet", "web", NS)["status"]["currentRevision"] == v2
    with pytest.raises(NotFoundError, match="unable to find revision 9"):
        rollout.rollout_undo(d.cluster, NS, "web", 9)


def test_undo_without_history_says_why() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=1))
    d.converge()
    with pytest.raises(InvalidError, match="no last revision to roll back to"):
        rollout.rollout_undo(d.cluster, NS, "web", None)


def test_history_carries_the_change_cause() -> None:
    d = Driver()
    sts = d.cluster.create(statefulset(replicas=1))
    d.converge()
    sts = d.cluster.get("StatefulSet", "web", NS)
    sts["metadata"]["annotations"] = {"kubernetes.io/change-cause": "image 2"}
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    d.cluster.update(sts)
    d.converge()
    causes = [i.change_cause for i in rollout.rollout_history(d.cluster, NS, "web")]
    assert causes == ["", "image 2"]


def test_restart_stamps_the_template_and_rolls_every_pod() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    sts = rollout.rollout_restart(d.cluster, NS, "web", now=when)
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"] == "2024-05-01T12:00:00Z"
    d.converge()
    assert d.deleted_order == ["web-1", "web-0"]
    rollout.rollout_pause(d.cluster, NS, "web")
    with pytest.raises(InvalidError, match="rollout resume"):
        rollout.rollout_restart(d.cluster, NS, "web")


def test_scale_and_rollout_status_follow_kubectl() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=1))
    assert rollout.rollout_status(d.cluster.get("StatefulSet", "web", NS)) == (
        False,
        "Waiting for statefulset spec update to be observed...\n",
    )
    d.converge()
    rollout.scale(d.cluster, "StatefulSet", NS, "web", 3)
    d.reconcile()
    done, message = rollout.rollout_status(d.cluster.get("StatefulSet", "web", NS))
    assert (done, message) == (False, "Waiting for 2 pods to be ready...\n")
    d.converge()
    sts = d.cluster.get("StatefulSet", "web", NS)
    # Stored without rollingUpdate (MemoryCluster applies no API defaults): kubectl's
    # non-partitioned branch.
    assert rollout.rollout_status(sts) == (
        True,
        "statefulset rolling update complete 3 pods at revision "
        f"{sts['status']['currentRevision']}...\n",
    )
    with pytest.raises(InvalidError, match=">= 0"):
        rollout.scale(d.cluster, "StatefulSet", NS, "web", -1)
    on_delete = {"metadata": {"generation": 1}, "spec": {"updateStrategy": {"type": "OnDelete"}}}
    with pytest.raises(InvalidError, match="only available for RollingUpdate"):
        rollout.rollout_status(on_delete)
    no_partition = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2, "updateStrategy": {"type": "RollingUpdate"}},
        "status": {
            "observedGeneration": 2,
            "readyReplicas": 2,
            "updatedReplicas": 1,
            "currentRevision": "web-a",
            "updateRevision": "web-b",
        },
    }
    assert rollout.rollout_status(no_partition) == (
        False,
        "waiting for statefulset rolling update to complete 1 pods at revision web-b...\n",
    )

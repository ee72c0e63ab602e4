"""Which pods and revisions belong to a set: adoption of orphans, release of strays.

As Kubernetes' ControllerRefManager: a pod whose labels match the set's
selector and whose name is `<set>-<ordinal>` is the set's; an orphan one is
adopted (a controller ownerReference is added); an owned one whose labels or
name no longer match is released (the reference is removed) and left running.
Nothing is adopted by a set that is being deleted, and nothing that is.
"""

from __future__ import annotations

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, controller_ref, is_being_deleted, labels_of, name_of, uid_of
from petset.api.selectors import Selector
from petset.controllers import history
from petset.controllers.statefulset.identity import is_member_of
from petset.runtime.cluster import Cluster


def claim_pods(cluster: Cluster, sts: Obj, selector: Selector) -> list[Obj]:
    """The set's pods after adopting matching orphans and releasing non-matching ones."""
    ns = sts["metadata"].get("namespace", "")
    owned: list[Obj] = []
    for pod in cluster.list("Pod", ns):
        matches = selector.matches(labels_of(pod)) and is_member_of(sts, pod)
        ref = controller_ref(pod)
        if ref is not None:
            if ref.get("uid") != uid_of(sts):
                continue
            if matches:
                owned.append(pod)
            elif not is_being_deleted(pod):
                _release(cluster, sts, pod)
            continue
        if not matches or is_being_deleted(pod) or is_being_deleted(sts):
            continue
        adopted = _adopt(cluster, sts, pod)
        if adopted is not None:
            owned.append(adopted)
    return owned


def _refs(obj: Obj) -> list[dict[str, object]]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def _adopt(cluster: Cluster, sts: Obj, pod: Obj) -> Obj | None:
    refs = _refs(pod)
    refs.append(
        {
            "apiVersion": sts.get("apiVersion", "apps/v1"),
            "kind": "StatefulSet",
            "name": name_of(sts),
            "uid": uid_of(sts),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    )
    try:
        adopted = cluster.patch(
            "Pod",
            name_of(pod),
            sts["metadata"].get("namespace", ""),
            {"metadata": {"ownerReferences": refs}},
        )
    except NotFoundError:
        return None
    cluster.record_event(
        sts, type="Normal", reason="Adopted", message=f"adopted orphan Pod {name_of(pod)}"
    )
    return adopted


def _release(cluster: Cluster, sts: Obj, pod: Obj) -> None:
    refs = [r for r in _refs(pod) if r.get("uid") != uid_of(sts)]
    try:
        cluster.patch(
            "Pod",
            name_of(pod),
            sts["metadata"].get("namespace", ""),
            {"metadata": {"ownerReferences": refs}},
        )
    except NotFoundError:
        return
    cluster.record_event(
        sts,
        type="Normal",
        reason="Released",
        message=f"released Pod {name_of(pod)}: its labels or name no longer match the selector",
    )


def adopt_orphan_revisions(cluster: Cluster, sts: Obj, selector: Selector) -> None:
    """Adopt revisions that match the selector and have no controller."""
    if is_being_deleted(sts):
        return
    for revision in history.list_controller_revisions(cluster, sts, selector):
        if controller_ref(revision) is None:
            history.adopt_controller_revision(cluster, sts, revision)

"""What the ReplicaSet and Deployment controllers share: time, pod readiness, ownership claims.

Kept free of imports from the rest of the package so `replicaset.py` can use it
without pulling in the Deployment controller.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from petset.api.errors import ConflictError, NotFoundError
from petset.api.kinds import kind_info
from petset.api.meta import Obj, controller_ref, is_being_deleted, labels_of, uid_of
from petset.api.selectors import Selector
from petset.runtime.cluster import Cluster

# The controllers take time from a clock they are given, so tests can move it.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """RFC 3339 at one-second precision, as Kubernetes' metav1.Time serialises."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def api_version_of(obj: Obj) -> str:
    return str(obj.get("apiVersion") or kind_info(str(obj["kind"])).api_version)


def new_controller_ref(owner: Obj) -> dict[str, object]:
    return {
        "apiVersion": api_version_of(owner),
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


# -- pods ----------------------------------------------------------------------


def pod_phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_pod_active(pod: Obj) -> bool:
    """Kubernetes' FilterActivePods: not finished and not on its way out."""
    return pod_phase(pod) not in ("Succeeded", "Failed") and not is_being_deleted(pod)


def ready_condition(pod: Obj) -> dict[str, object] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def available_at(pod: Obj, min_ready_seconds: int) -> datetime | None:
    """When a ready pod counts as available (ready for minReadySeconds); None if not ready."""
    if not is_pod_ready(pod):
        return None
    cond = ready_condition(pod) or {}
    since = parse_time(cond.get("lastTransitionTime"))
    if min_ready_seconds <= 0:
        return datetime.min.replace(tzinfo=UTC)
    if since is None:
        return None
    return since + timedelta(seconds=min_ready_seconds)


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """IsPodAvailable: ready, and ready for longer than minReadySeconds (strictly, as upstream)."""
    at = available_at(pod, min_ready_seconds)
    if at is None:
        return False
    return min_ready_seconds <= 0 or at < now


# -- ownership -------------------------------------------------------------------


def claim(
    cluster: Cluster, owner: Obj, candidates: list[Obj], selector: Selector, steps: list[str]
) -> list[Obj]:
    """Kubernetes' ControllerRefManager: the objects `owner` controls after adopting and releasing.

    An object controlled by `owner` whose labels no longer match is released; an
    orphan whose labels match is adopted, but only after a fresh read shows the
    owner still exists and is not being deleted (adopting for a dying owner
    would hand the object to the garbage collector).
    """
    owned: list[Obj] = []
    owner_uid = uid_of(owner)
    can_adopt: bool | None = None
    for obj in candidates:
        ref = controller_ref(obj)
        matches = not selector.empty and selector.matches(labels_of(obj))
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if matches:
                owned.append(obj)
            elif not is_being_deleted(owner) and _release(cluster, obj, owner_uid):
                steps.append(
                    f"Released {obj['kind']} {obj['metadata']['name']}: labels no longer match."
                )
            continue
        if not matches or is_being_deleted(obj) or is_being_deleted(owner):
            continue
        if can_adopt is None:
            can_adopt = _still_there(cluster, owner)
        if not can_adopt:
            continue
        adopted = _adopt(cluster, obj, owner)
        if adopted is not None:
            steps.append(f"Adopted orphan {obj['kind']} {obj['metadata']['name']}.")
            owned.append(adopted)
    return owned


def _still_there(cluster: Cluster, owner: Obj) -> bool:
    try:
        fresh = cluster.get(
            owner["kind"], owner["metadata"]["name"], owner["metadata"].get("namespace", "")
        )
    except NotFoundError:
        return False
    return uid_of(fresh) == uid_of(owner) and not is_being_deleted(fresh)


def _adopt(cluster: Cluster, obj: Obj, owner: Obj) -> Obj | None:
    new = copy.deepcopy(obj)
    refs = [
        r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid_of(owner)
    ]
    new["metadata"]["ownerReferences"] = [*refs, new_controller_ref(owner)]
    try:
        return cluster.update(new)
    except (ConflictError, NotFoundError):
        return None  # changed or gone meanwhile: the next pass looks again


def _release(cluster: Cluster, obj: Obj, owner_uid: str) -> bool:
    new = copy.deepcopy(obj)
    refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]
    new["metadata"]["ownerReferences"] = refs
    try:
        cluster.update(new)
    except (ConflictError, NotFoundError):
        return False
    return True

"""The ReplicaSet controller: keep `spec.replicas` pods from the template running.

Kubernetes' algorithm (pkg/controller/replicaset/replica_set.go), level-triggered:
claim the pods (adopt matching orphans, release owned pods that stopped
matching), create the missing ones in slow-start batches (1, 2, 4, ... stopping
at the first failure), delete the surplus starting with the least useful pod,
then write status. Finished pods (Succeeded/Failed) do not count, so a failed
pod is replaced; removing finished pods is the garbage collector's job, as in
Kubernetes, which keeps them for inspection.

Surplus ranking, Kubernetes' ActivePodsWithRanks simplified (no per-node
co-location rank): unscheduled before scheduled, Pending before Unknown before
Running, not-ready before ready, lower `controller.kubernetes.io/pod-deletion-cost`
first, ready for less time first, more container restarts first, newer first.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import datetime
from functools import partial

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError, PetsetError
from petset.api.meta import Obj, ObjectKey, annotations_of, is_being_deleted, labels_of
from petset.api.selectors import selector_from_spec
from petset.controllers.deployment.common import (
    Clock,
    available_at,
    claim,
    format_time,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    new_controller_ref,
    parse_time,
    pod_phase,
    ready_condition,
    utc_now,
)
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result, TemporaryError

# At most this many pods are created or deleted in one pass (Kubernetes' burstReplicas).
BURST_REPLICAS = 500
# Kubernetes' rand.String alphabet: no vowels, no look-alike characters.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
# generateName keeps room for the 5 random characters within a 63-character name.
MAX_GENERATED_PREFIX = 58
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def controller(clock: Clock = utc_now, rng: random.Random | None = None) -> Controller:
    return Controller(
        name="replicaset",
        kind="ReplicaSet",
        reconcile=partial(reconcile, clock=clock, rng=rng),
        owns=("Pod",),
    )


def reconcile(
    cluster: Cluster, key: ObjectKey, *, clock: Clock = utc_now, rng: random.Random | None = None
) -> Result:
    try:
        rs = cluster.get("ReplicaSet", key.name, key.namespace)
    except NotFoundError:
        return Result(f"ReplicaSet {key.namespace}/{key.name} is gone; nothing to do.")
    steps: list[str] = []
    pods = _claimed_pods(cluster, rs, steps)
    error: str | None = None
    if not is_being_deleted(rs):
        try:
            changed = manage_replicas(cluster, rs, pods, steps, rng or random.Random())
        except PetsetError as exc:
            error, changed = str(exc), True
            steps.append(f"Failed: {exc}.")
        if changed:  # status must count what exists now (the Deployment bounds surge by it)
            pods = _claimed_pods(cluster, rs, steps)
    now = clock()
    status = calculate_status(rs, pods, now, error)
    if status != rs.get("status"):
        rs["status"] = status
        try:
            cluster.update_status(rs)
        except ConflictError as exc:  # resized meanwhile: recount on the next pass
            raise TemporaryError(f"ReplicaSet {key.name}: {exc}") from exc
    if not steps:
        steps.append(
            f"ReplicaSet {key.name} has {status['replicas']} of {_spec_replicas(rs)} pods, "
            f"{status['readyReplicas']} ready, {status['availableReplicas']} available."
        )
    return Result(" ".join(steps), requeue_after=_next_available_in(rs, pods, now))


def _spec_replicas(rs: Obj) -> int:
    value = (rs.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _min_ready_seconds(rs: Obj) -> int:
    return int((rs.get("spec") or {}).get("minReadySeconds") or 0)


def _claimed_pods(cluster: Cluster, rs: Obj, steps: list[str]) -> list[Obj]:
    selector = selector_from_spec((rs.get("spec") or {}).get("selector"))
    pods = [p for p in cluster.list("Pod", rs["metadata"]["namespace"]) if is_pod_active(p)]
    return claim(cluster, rs, pods, selector, steps)


def manage_replicas(
    cluster: Cluster, rs: Obj, pods: list[Obj], steps: list[str], rng: random.Random
) -> bool:
    """Create or delete pods towards spec.replicas; True when anything was written."""
    diff = len(pods) - _spec_replicas(rs)
    if diff < 0:
        want = min(-diff, BURST_REPLICAS)
        made, error = _slow_start(want, lambda: _create_pod(cluster, rs, rng))
        steps.append(f"Created {made} of {want} missing pods.")
        if error is not None:
            raise error
        return made > 0
    if diff > 0:
        doomed = pods_to_delete(pods, min(diff, BURST_REPLICAS))
        for pod in doomed:
            _delete_pod(cluster, rs, pod)
        steps.append(f"Deleted {len(doomed)} surplus pods: {', '.join(_names(doomed))}.")
        return True
    return False


def _slow_start(count: int, create: Callable[[], None]) -> tuple[int, PetsetError | None]:
    """Kubernetes' slowStartBatch: batches of 1, 2, 4, ... stopping at the first failure,
    so a template that cannot work fails once rather than `count` times."""
    done, batch = 0, 1
    while done < count:
        for _ in range(min(batch, count - done)):
            try:
                create()
            except PetsetError as exc:
                return done, exc
            done += 1
        batch *= 2
    return done, None


def _create_pod(cluster: Cluster, rs: Obj, rng: random.Random) -> None:
    template = (rs.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    if not tmeta.get("labels"):
        raise PetsetError(
            f"ReplicaSet {rs['metadata']['name']}: cannot create pods without labels; "
            "set spec.template.metadata.labels to match spec.selector"
        )
    prefix = f"{rs['metadata']['name']}-"[:MAX_GENERATED_PREFIX]
    metadata: dict[str, object] = {
        "namespace": rs["metadata"]["namespace"],
        "labels": dict(tmeta["labels"]),
        "ownerReferences": [new_controller_ref(rs)],
    }
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        metadata["finalizers"] = list(tmeta["finalizers"])
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    for _ in range(5):  # a name clash is a 1-in-14M event: draw again
        metadata["name"] = prefix + "".join(rng.choice(ALPHANUMS) for _ in range(5))
        try:
            cluster.create(pod)
        except AlreadyExistsError:
            continue
        cluster.record_event(
            rs,
            type="Normal",
            reason="SuccessfulCreate",
            message=f"Created pod: {metadata['name']}",
            source="replicaset-controller",
        )
        return
    raise PetsetError(f"ReplicaSet {rs['metadata']['name']}: could not find a free pod name")


def _delete_pod(cluster: Cluster, rs: Obj, pod: Obj) -> None:
    name = pod["metadata"]["name"]
    try:
        cluster.delete("Pod", name, pod["metadata"]["namespace"], uid=pod["metadata"].get("uid"))
    except (NotFoundError, ConflictError):
        return  # gone, or replaced by a namesake (uid precondition): not ours to delete
    cluster.record_event(
        rs,
        type="Normal",
        reason="SuccessfulDelete",
        message=f"Deleted pod: {name}",
        source="replicaset-controller",
    )


def _names(pods: list[Obj]) -> list[str]:
    return [str(p["metadata"]["name"]) for p in pods]


def _timestamp(text: object) -> float:
    t = parse_time(text)
    return t.timestamp() if t else 0.0


def deletion_rank(pod: Obj) -> tuple[object, ...]:
    """Sort key: the pods that sort first are deleted first (see the module docstring)."""
    status = pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod_phase(pod), 0)
    try:
        cost = int(annotations_of(pod).get(DELETION_COST, "0"))
    except ValueError:
        cost = 0
    ready = is_pod_ready(pod)
    ready_since = _timestamp((ready_condition(pod) or {}).get("lastTransitionTime")) if ready else 0
    restarts = max(
        [int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []] or [0]
    )
    created = _timestamp(pod["metadata"].get("creationTimestamp"))
    return (
        bool((pod.get("spec") or {}).get("nodeName")),
        phase_rank,
        ready,
        cost,
        -ready_since,
        -restarts,
        -created,
        pod["metadata"]["name"],
    )


def pods_to_delete(pods: list[Obj], count: int) -> list[Obj]:
    return sorted(pods, key=deletion_rank)[:count]


def calculate_status(rs: Obj, pods: list[Obj], now: datetime, error: str | None) -> Obj:
    template_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}
    wanted = dict(template_labels.get("labels") or {})
    min_ready = _min_ready_seconds(rs)
    status: Obj = {
        "replicas": len(pods),
        "fullyLabeledReplicas": sum(
            1 for p in pods if all(labels_of(p).get(k) == v for k, v in wanted.items())
        ),
        "readyReplicas": sum(1 for p in pods if is_pod_ready(p)),
        "availableReplicas": sum(1 for p in pods if is_pod_available(p, min_ready, now)),
        "observedGeneration": rs["metadata"].get("generation", 1),
    }
    old = [
        c
        for c in (rs.get("status") or {}).get("conditions") or []
        if c.get("type") == "ReplicaFailure"
    ]
    if error is not None:
        reason = "FailedDelete" if len(pods) > _spec_replicas(rs) else "FailedCreate"
        keep = old and old[0].get("reason") == reason and old[0].get("message") == error
        status["conditions"] = (
            old
            if keep
            else [
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": reason,
                    "message": error,
                    "lastTransitionTime": format_time(now),
                }
            ]
        )
    return status


def _next_available_in(rs: Obj, pods: list[Obj], now: datetime) -> float | None:
    """Seconds until the next ready pod passes minReadySeconds (so availability is recounted)."""
    min_ready = _min_ready_seconds(rs)
    if min_ready <= 0:
        return None
    waits = [
        (at - now).total_seconds() + 1.0
        for p in pods
        if (at := available_at(p, min_ready)) is not None
        and not is_pod_available(p, min_ready, now)
    ]
    return max(0.0, min(waits)) if waits else None

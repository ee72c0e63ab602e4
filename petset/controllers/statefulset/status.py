"""A StatefulSet's status: counted as Kubernetes counts it, written only when it changed.

Kubernetes fills replicas, readyReplicas, availableReplicas, currentReplicas,
updatedReplicas, currentRevision, updateRevision, observedGeneration and
collisionCount. petset adds one condition, `Progressing`, whose message is the
sentence the last reconcile pass ended with ("updating web-2 to revision
web-6d4f5c (2 of 3 updated)").
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from petset.api.errors import ConflictError
from petset.api.meta import Obj, name_of, namespace_of
from petset.controllers.statefulset.identity import (
    is_available,
    is_created,
    is_running_and_ready,
    is_terminating,
    min_ready_seconds,
    phase_of,
    pod_revision,
    ready_condition,
)
from petset.controllers.statefulset.plan import effective_partition
from petset.runtime.cluster import Cluster

_MAX_RETRIES = 10
_COUNTS = ("replicas", "readyReplicas", "availableReplicas", "currentReplicas", "updatedReplicas")


def count_replicas(
    status: dict[str, Any], sts: Obj, pods: list[Obj], current: str, update: str, now: datetime
) -> None:
    """Fill the five counters of `status` from `pods` (planned pods count as absent)."""
    counts = dict.fromkeys(_COUNTS, 0)
    min_ready = min_ready_seconds(sts)
    for pod in pods:
        if not is_created(pod):
            continue
        counts["replicas"] += 1
        if is_running_and_ready(pod):
            counts["readyReplicas"] += 1
            if is_available(pod, min_ready, now):
                counts["availableReplicas"] += 1
        if not is_terminating(pod):
            revision = pod_revision(pod)
            if revision == current:
                counts["currentReplicas"] += 1
            if revision == update:
                counts["updatedReplicas"] += 1
    status.update(counts)


def complete_rolling_update(sts: Obj, status: dict[str, Any]) -> None:
    """When every replica is updated and ready, the update revision becomes current.

    Only with no partition in effect (petset's fix of kubernetes#121534): upstream
    counts the pods that exist, so when every pod below the partition was gone at
    once (deleted together, or scaled to 0) the updated rest looked like a finished
    rollout, the update revision became current, and the pods below the partition
    came back at the update revision.
    """
    if (
        sts["spec"]["updateStrategy"].get("type") == "RollingUpdate"
        and effective_partition(sts) == 0
        and status["updatedReplicas"] == status["replicas"]
        and status["readyReplicas"] == status["replicas"]
    ):
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


def _strip_times(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions]


def status_changed(sts: Obj, status: dict[str, Any]) -> bool:
    old = sts.get("status") or {}
    if old.get("observedGeneration") is None:
        return True
    if int(status.get("observedGeneration") or 0) > int(old.get("observedGeneration") or 0):
        return True
    for key in (*_COUNTS, "currentRevision", "updateRevision", "collisionCount"):
        if (status.get(key) or 0) != (old.get(key) or 0):
            return True
    return _strip_times(status.get("conditions") or []) != _strip_times(old.get("conditions") or [])


def progressing_condition(
    sts: Obj, *, status: str, reason: str, message: str, now: datetime
) -> dict[str, Any]:
    """The `Progressing` condition, keeping its transition time while status holds."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for old in (sts.get("status") or {}).get("conditions") or []:
        if old.get("type") == "Progressing" and old.get("status") == status:
            stamp = old.get("lastTransitionTime") or stamp
    return {
        "type": "Progressing",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": stamp,
    }


def previous_message(sts: Obj) -> str:
    for cond in (sts.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing":
            return str(cond.get("message") or "")
    return ""


def write_status(cluster: Cluster, sts: Obj, status: dict[str, Any]) -> bool:
    """Store `status` unless nothing changed; retried on conflict. True when written."""
    complete_rolling_update(sts, status)
    if not status_changed(sts, status):
        return False
    current = copy.deepcopy(sts)
    for _ in range(_MAX_RETRIES):
        current["status"] = copy.deepcopy(status)
        try:
            cluster.update_status(current)
            return True
        except ConflictError:
            current = cluster.get("StatefulSet", name_of(sts), namespace_of(sts))
    raise ConflictError(
        f"StatefulSet {name_of(sts)}: status not written after {_MAX_RETRIES} tries"
    )


def why_unready(pod: Obj) -> str:
    """A few words on why a pod is not Ready, from what the kubelet reported."""
    if is_terminating(pod):
        return "terminating"
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") and waiting.get("reason") != "PodInitializing":
                return f"container {cs.get('name')}: {waiting['reason']}"
            terminated = (cs.get("state") or {}).get("terminated") or {}
            if key == "initContainerStatuses" and terminated.get("exitCode", 0) not in (0, None):
                return f"init container {cs.get('name')} failed"
    phase = phase_of(pod) or "not created yet"
    if phase != "Running":
        return phase
    for cs in status.get("containerStatuses") or []:
        if "running" in (cs.get("state") or {}) and not cs.get("ready"):
            return "readiness probe failing"
    cond = ready_condition(pod) or {}
    return str(cond.get("message") or cond.get("reason") or "not Ready")

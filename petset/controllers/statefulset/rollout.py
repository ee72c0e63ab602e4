"""Rollout operations the server performs for `petset rollout ...` and `petset scale`.

Each reads and writes through the `Cluster` protocol and behaves as kubectl's
counterpart does for a StatefulSet (history, undo, restart, status), plus
pause/resume, which Kubernetes offers only for Deployments (petset's
extension, see `rolling.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from petset.api.errors import InvalidError, NotFoundError
from petset.api.meta import Obj, annotations_of, controller_ref, uid_of
from petset.controllers import history
from petset.controllers.statefulset.identity import PAUSED_ANNOTATION, is_paused
from petset.controllers.statefulset.revisions import template_of_revision
from petset.runtime.cluster import Cluster

CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


@dataclass(frozen=True)
class RevisionInfo:
    revision: int
    name: str
    change_cause: str
    template: Obj


def _revisions(cluster: Cluster, sts: Obj) -> list[Obj]:
    """The set's ControllerRevisions, oldest first (kubectl's controlledHistory)."""
    ns = sts["metadata"].get("namespace", "")
    owned = [
        r
        for r in cluster.list("ControllerRevision", ns)
        if (controller_ref(r) or {}).get("uid") == uid_of(sts)
    ]
    return history.sort_revisions(owned)


def rollout_history(cluster: Cluster, ns: str, name: str) -> list[RevisionInfo]:
    sts = cluster.get("StatefulSet", name, ns)
    return [
        RevisionInfo(
            revision=history.revision_number(r),
            name=str(r["metadata"]["name"]),
            change_cause=annotations_of(r).get(CHANGE_CAUSE_ANNOTATION, ""),
            template=template_of_revision(r),
        )
        for r in _revisions(cluster, sts)
    ]


def rollout_undo(cluster: Cluster, ns: str, name: str, to_revision: int | None = None) -> Obj:
    """Write the template of `to_revision` (default: the previous one) back to the set.

    The controller then finds that template already recorded and gives that
    revision the next number, as Kubernetes does. Undoing to the template the
    set already has changes nothing and returns the set as it is.
    """
    sts = cluster.get("StatefulSet", name, ns)
    revisions = _revisions(cluster, sts)
    if not revisions:
        raise NotFoundError(f"no rollout history found for statefulset {name!r}")
    if not to_revision:
        if len(revisions) <= 1:
            raise InvalidError(f"statefulset {name!r}: no last revision to roll back to")
        target = revisions[-2]
    else:
        found = [r for r in revisions if history.revision_number(r) == to_revision]
        if not found:
            known = ", ".join(str(history.revision_number(r)) for r in revisions)
            raise NotFoundError(
                f"statefulset {name!r}: unable to find revision {to_revision} in history "
                f"(revisions: {known}); see `petset rollout history statefulset/{name}`"
            )
        target = found[-1]
    template = template_of_revision(target)
    if template == sts["spec"].get("template"):
        return sts
    sts["spec"]["template"] = template
    return cluster.update(sts)


def rollout_restart(cluster: Cluster, ns: str, name: str, *, now: datetime | None = None) -> Obj:
    """Stamp the template so every pod is replaced by a rolling update."""
    sts = cluster.get("StatefulSet", name, ns)
    if is_paused(sts):
        raise InvalidError(
            f"statefulset {name!r} is paused: a restart would not roll; run "
            f"`petset rollout resume statefulset/{name}` first"
        )
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}
    return cluster.patch("StatefulSet", name, ns, patch)


def rollout_pause(cluster: Cluster, ns: str, name: str) -> Obj:
    patch = {"metadata": {"annotations": {PAUSED_ANNOTATION: "true"}}}
    return cluster.patch("StatefulSet", name, ns, patch)


def rollout_resume(cluster: Cluster, ns: str, name: str) -> Obj:
    patch = {"metadata": {"annotations": {PAUSED_ANNOTATION: None}}}
    return cluster.patch("StatefulSet", name, ns, patch)


def scale(cluster: Cluster, kind: str, ns: str, name: str, replicas: int) -> Obj:
    """Set spec.replicas of any scalable kind (StatefulSet, Deployment, ReplicaSet...)."""
    if replicas < 0:
        raise InvalidError(f"{kind} {name!r}: spec.replicas: must be >= 0, got {replicas}")
    obj = cluster.get(kind, name, ns)
    if "replicas" not in (obj.get("spec") or {}) and kind not in ("StatefulSet", "Deployment"):
        raise InvalidError(f"{kind} {name!r} cannot be scaled: it has no spec.replicas")
    return cluster.patch(kind, name, ns, {"spec": {"replicas": replicas}})


def rollout_status(obj: Obj) -> tuple[bool, str]:
    """(done, message) exactly as kubectl's StatefulSetStatusViewer says it.

    One addition: a paused set that still has pods to update says so instead
    of waiting silently.
    """
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {"type": "RollingUpdate"}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise InvalidError("rollout status is only available for RollingUpdate strategy type")
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or int(obj["metadata"].get("generation") or 0) > observed:
        return False, "Waiting for statefulset spec update to be observed...\n"
    replicas = int(spec["replicas"] if spec.get("replicas") is not None else 1)
    ready, updated = int(status.get("readyReplicas") or 0), int(status.get("updatedReplicas") or 0)
    paused = is_paused(obj) and status.get("updateRevision") != status.get("currentRevision")
    if paused:
        return False, (
            f"Rollout is paused: {updated} of {replicas} pods updated; "
            f"run `petset rollout resume statefulset/{obj['metadata']['name']}`\n"
        )
    if ready < replicas:
        return False, f"Waiting for {replicas - ready} pods to be ready...\n"
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if partition is not None and updated < replicas - int(partition):
            return False, (
                "Waiting for partitioned roll out to finish: "
                f"{updated} out of {replicas - int(partition)} new pods have been updated...\n"
            )
        return True, f"partitioned roll out complete: {updated} new pods have been updated...\n"
    if status.get("updateRevision") != status.get("currentRevision"):
        return False, (
            f"waiting for statefulset rolling update to complete {updated} pods at revision "
            f"{status.get('updateRevision')}...\n"
        )
    return True, (
        f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods "
        f"at revision {status.get('currentRevision')}...\n"
    )

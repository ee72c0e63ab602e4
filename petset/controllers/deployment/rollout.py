"""Rollout operations the server runs for `petset rollout ...`, as kubectl does them.

history reads the revisions off the Deployment's ReplicaSets; undo copies an
old ReplicaSet's template back into the Deployment (the controller then finds
that ReplicaSet again, same pod-template-hash, and gives it the next revision);
restart stamps the template so every pod is replaced; pause/resume toggle
spec.paused; status reads a Deployment as kubectl's DeploymentStatusViewer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from petset.api.errors import InvalidError, NotFoundError, PetsetError
from petset.api.meta import Obj, annotations_of, controller_ref, uid_of
from petset.controllers.deployment import conditions as cond
from petset.controllers.deployment import util
from petset.controllers.deployment.common import format_time, utc_now
from petset.runtime.cluster import Cluster


class ProgressDeadlineExceededError(PetsetError):
    """The rollout stopped making progress for longer than spec.progressDeadlineSeconds."""

    status = 409
    reason = "ProgressDeadlineExceeded"


@dataclass(frozen=True)
class Revision:
    revision: int
    change_cause: str  # "" when none was recorded (kubectl prints <none>)
    replica_set: str
    template: Obj

    def to_dict(self) -> Obj:
        return {
            "revision": self.revision,
            "changeCause": self.change_cause,
            "replicaSet": self.replica_set,
            "template": copy.deepcopy(self.template),
        }


def _deployment(cluster: Cluster, namespace: str, name: str) -> Obj:
    return cluster.get("Deployment", name, namespace)


def _owned_replica_sets(cluster: Cluster, d: Obj) -> list[Obj]:
    return [
        rs
        for rs in cluster.list("ReplicaSet", d["metadata"].get("namespace") or "default")
        if (controller_ref(rs) or {}).get("uid") == uid_of(d)
    ]


def rollout_history(cluster: Cluster, namespace: str, name: str) -> list[Revision]:
    """Every recorded revision, oldest first."""
    d = _deployment(cluster, namespace, name)
    found: dict[int, Revision] = {}
    for rs in _owned_replica_sets(cluster, d):
        rev = util.revision(rs)
        if rev <= 0:
            continue
        found[rev] = Revision(
            revision=rev,
            change_cause=annotations_of(rs).get(util.CHANGE_CAUSE, ""),
            replica_set=rs["metadata"]["name"],
            template=util.template_without_hash(util.template_of(rs)),
        )
    return [found[r] for r in sorted(found)]


def rollout_undo(cluster: Cluster, namespace: str, name: str, to_revision: int = 0) -> str:
    """Roll back to `to_revision` (0: the previous one); returns kubectl's sentence."""
    d = _deployment(cluster, namespace, name)
    if to_revision < 0:
        raise InvalidError(f"unable to find specified revision {to_revision} in history")
    if (d.get("spec") or {}).get("paused"):
        raise InvalidError(
            "you cannot rollback a paused deployment; resume it first with "
            f"'petset rollout resume deployment/{name}' and try again"
        )
    rss = _owned_replica_sets(cluster, d)
    if to_revision == 0:
        if len(rss) <= 1:
            raise NotFoundError(f'no revision found for deployment "{name}"')
        to_revision = util.last_revision(rss)
    target = next((rs for rs in rss if util.revision(rs) == to_revision), None)
    if target is None:
        raise NotFoundError(f"unable to find specified revision {to_revision} in history")
    if util.equal_ignore_hash(util.template_of(target), util.template_of(d)):
        return (
            f"deployment.apps/{name} skipped rollback "
            f"(current template already matches revision {to_revision})"
        )
    d["spec"]["template"] = util.template_without_hash(util.template_of(target))
    kept = {k: v for k, v in annotations_of(d).items() if k in util.SKIPPED_ANNOTATIONS}
    restored = {
        k: v for k, v in annotations_of(target).items() if k not in util.SKIPPED_ANNOTATIONS
    }
    d["metadata"]["annotations"] = {**kept, **restored}
    cluster.update(d)  # carries resourceVersion: a concurrent change makes this a conflict
    return f"deployment.apps/{name} rolled back"


def rollout_restart(
    cluster: Cluster, namespace: str, name: str, *, now: datetime | None = None
) -> str:
    d = _deployment(cluster, namespace, name)
    if (d.get("spec") or {}).get("paused"):
        raise InvalidError(
            f"can't restart paused deployment {name} (run 'petset rollout resume' first)"
        )
    stamp = format_time(now or utc_now())
    patch = {"spec": {"template": {"metadata": {"annotations": {util.RESTARTED_AT: stamp}}}}}
    cluster.patch("Deployment", name, namespace, patch)
    return f"deployment.apps/{name} restarted"


def rollout_pause(cluster: Cluster, namespace: str, name: str) -> str:
    d = _deployment(cluster, namespace, name)
    if (d.get("spec") or {}).get("paused"):
        return f"deployment.apps/{name} already paused"
    cluster.patch("Deployment", name, namespace, {"spec": {"paused": True}})
    return f"deployment.apps/{name} paused"


def rollout_resume(cluster: Cluster, namespace: str, name: str) -> str:
    d = _deployment(cluster, namespace, name)
    if not (d.get("spec") or {}).get("paused"):
        return f"deployment.apps/{name} already resumed"
    cluster.patch("Deployment", name, namespace, {"spec": {"paused": False}})
    return f"deployment.apps/{name} resumed"


def rollout_status(obj: Obj) -> tuple[bool, str]:
    """(done, message) as `kubectl rollout status`; raises ProgressDeadlineExceededError
    when the Deployment reports it stopped progressing."""
    name = obj["metadata"]["name"]
    status = obj.get("status") or {}
    if int(obj["metadata"].get("generation", 1)) > int(status.get("observedGeneration") or 0):
        return False, "Waiting for deployment spec update to be observed..."
    progressing = cond.get_condition(status, cond.PROGRESSING)
    if progressing and progressing.get("reason") == cond.TIMED_OUT:
        raise ProgressDeadlineExceededError(f'deployment "{name}" exceeded its progress deadline')
    replicas = util.spec_replicas(obj)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < replicas:
        return False, f"{waiting}{updated} out of {replicas} new replicas have been updated..."
    if total > updated:
        return False, f"{waiting}{total - updated} old replicas are pending termination..."
    if available < updated:
        return False, f"{waiting}{available} of {updated} updated replicas are available..."
    return True, f'deployment "{name}" successfully rolled out'

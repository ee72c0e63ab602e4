"""The Deployment controller's entry point (syncDeployment in deployment_controller.go)."""

from __future__ import annotations

from functools import partial

from petset.api.errors import ConflictError, InvalidError, NotFoundError
from petset.api.meta import Obj, ObjectKey, controller_ref, is_being_deleted
from petset.api.selectors import selector_from_spec
from petset.controllers.deployment import util
from petset.controllers.deployment.common import Clock, is_pod_active, utc_now
from petset.controllers.deployment.progress import check_paused_conditions
from petset.controllers.deployment.recreate import rollout_recreate
from petset.controllers.deployment.rolling import rollout_rolling
from petset.controllers.deployment.status import calculate_status
from petset.controllers.deployment.sync import Sync
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result, TemporaryError


def controller(clock: Clock = utc_now) -> Controller:
    """Deployments own ReplicaSets; pods are watched too so Recreate notices the last old
    pod leaving."""
    return Controller(
        name="deployment",
        kind="Deployment",
        reconcile=partial(reconcile, clock=clock),
        owns=("ReplicaSet",),
        watches=(("Pod", deployment_of_pod),),
    )


def deployment_of_pod(cluster: Cluster, pod: Obj) -> list[ObjectKey]:
    ref = controller_ref(pod)
    # Only a pod that is going away matters here: a terminating pod no longer counts in
    # its ReplicaSet's status, so its disappearance would otherwise go unnoticed.
    if ref is None or ref.get("kind") != "ReplicaSet" or is_pod_active(pod):
        return []
    namespace = str(pod["metadata"].get("namespace") or "")
    try:
        rs = cluster.get("ReplicaSet", str(ref["name"]), namespace)
    except NotFoundError:
        return []
    owner = controller_ref(rs)
    if owner is None or owner.get("kind") != "Deployment":
        return []
    return [ObjectKey("Deployment", namespace, str(owner["name"]))]


def reconcile(cluster: Cluster, key: ObjectKey, *, clock: Clock = utc_now) -> Result:
    try:
        raw = cluster.get("Deployment", key.name, key.namespace)
    except NotFoundError:
        return Result(f"Deployment {key.namespace}/{key.name} is gone; nothing to do.")
    s = Sync(cluster, util.with_defaults(raw), clock())
    try:
        requeue = _sync(s)
    except ConflictError as exc:
        raise TemporaryError(f"Deployment {key.name}: {exc}") from exc
    except InvalidError as exc:  # e.g. maxSurge "25": retrying cannot help, the user must
        s.event("InvalidSpec", str(exc), warning=True)
        return Result(f"Deployment {key.name} cannot roll out: {exc}.")
    s.note(_summary(s))
    return Result(" ".join(s.steps), requeue_after=requeue)


def _sync(s: Sync) -> float | None:
    selector = selector_from_spec(s.d["spec"].get("selector"))
    if selector.empty:
        message = "This deployment is selecting all pods. A non-empty selector is required."
        s.event("SelectingAll", message, warning=True)
        s.note(f"{message} Set spec.selector.matchLabels to the template's labels.")
        status = dict(s.d.get("status") or {})
        status["observedGeneration"] = s.d["metadata"].get("generation", 1)
        s.write_status(status)
        return None
    rs_list = s.replica_sets(selector)
    if is_being_deleted(s.d):
        new, olds = s.all_rss_and_sync_revision(rs_list, create=False)
        all_rss = [*olds, *([new] if new else [])]
        s.write_status(calculate_status(s.d, all_rss, new, s.now))
        return None
    check_paused_conditions(s)
    if s.d["spec"].get("paused") or s.is_scaling_event(rs_list):
        s.sync(rs_list)
        return None
    if (s.d["spec"].get("strategy") or {}).get("type") == "Recreate":
        return rollout_recreate(s, rs_list)
    return rollout_rolling(s, rs_list)


def _summary(s: Sync) -> str:
    status = s.d.get("status") or {}
    return (
        f"Deployment {s.name}: {status.get('updatedReplicas', 0)} of "
        f"{util.spec_replicas(s.d)} updated, {status.get('availableReplicas', 0)} available, "
        f"{status.get('replicas', 0)} total."
    )

"""The node's hold on a Pod object: nodeName plus the `petset.dev/kubelet` finalizer,
so a deleted pod stays visible (Terminating) until its sandboxes are gone.

Every write here names the pod by namespace/name, so each one first checks that
the stored pod is still the same object (same uid): a pod deleted and recreated
under the same name is another pod, and what the node does for the old one
(status, finalizer) must never land on its successor. The kubelet's status
manager does the same ("pod was deleted and then recreated, skipping status
update").
"""

from __future__ import annotations

from petset.api.errors import ConflictError, NotFoundError
from petset.api.meta import Obj, controller_ref, is_being_deleted, name_of, namespace_of, uid_of
from petset.runtime.cluster import Cluster

FINALIZER = "petset.dev/kubelet"
ATTEMPTS = 5


def _current(cluster: Cluster, pod: Obj) -> Obj | None:
    """The stored pod if it is still the same object (same uid)."""
    try:
        stored = cluster.get("Pod", name_of(pod), namespace_of(pod))
    except NotFoundError:
        return None
    return stored if uid_of(stored) == uid_of(pod) else None


def claim(cluster: Cluster, pod: Obj, node_name: str) -> Obj | None:
    """Bind the pod to this node and add the finalizer; returns the pod as stored,
    None when it is gone (or the name now belongs to a pod with another uid)."""
    for _ in range(ATTEMPTS):
        stored = _current(cluster, pod)
        if stored is None:
            return None
        if is_being_deleted(stored):
            return stored
        md, spec = stored["metadata"], stored.setdefault("spec", {})
        finalizers = list(md.get("finalizers") or [])
        if FINALIZER in finalizers and spec.get("nodeName"):
            return stored
        md["finalizers"] = [*finalizers, FINALIZER] if FINALIZER not in finalizers else finalizers
        spec["nodeName"] = spec.get("nodeName") or node_name
        try:
            return cluster.update(stored)
        except ConflictError:
            continue
        except NotFoundError:
            return None
    return pod


def write_status(cluster: Cluster, pod: Obj, status: Obj) -> Obj | None:
    """Replace the pod's status if the stored pod is still this one (same uid);
    returns the stored pod, None when it is gone or replaced."""
    for _ in range(ATTEMPTS):
        stored = _current(cluster, pod)
        if stored is None:
            return None
        try:
            # The version just read is the precondition: a successor created after the
            # read has another uid and a newer version, so the write fails instead.
            return cluster.update_status({**stored, "status": status})
        except ConflictError:
            continue
        except NotFoundError:
            return None
    raise ConflictError(f"pod {name_of(pod)!r}: status kept changing; will write it again")


def unclaim(cluster: Cluster, pod: Obj) -> None:
    """Drop the finalizer: the store then removes a pod that is being deleted."""
    for _ in range(ATTEMPTS):
        stored = _current(cluster, pod)
        if stored is None:
            return
        finalizers = stored["metadata"].get("finalizers") or []
        if FINALIZER not in finalizers:
            return
        stored["metadata"]["finalizers"] = [f for f in finalizers if f != FINALIZER]
        try:
            cluster.update(stored)
            return
        except ConflictError:
            continue
        except NotFoundError:
            return


def ip_releasable(cluster: Cluster, pod: Obj) -> bool:
    """A bare pod's IP goes with it; a controller's pod keeps it while the owner lives
    (the replacement of the same name gets the same address)."""
    ref = controller_ref(pod)
    if ref is None:
        return True
    try:
        owner = cluster.get(str(ref["kind"]), str(ref["name"]), namespace_of(pod))
    except Exception:  # owner gone (or a kind this cluster does not know)
        return True
    return bool(owner["metadata"].get("uid") != ref.get("uid") or is_being_deleted(owner))

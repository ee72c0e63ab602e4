"""The node's hold on a Pod object: nodeName plus the `petset.dev/kubelet` finalizer,
so a deleted pod stays visible (Terminating) until its sandboxes are gone."""

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


def claim(cluster: Cluster, pod: Obj, node_name: str) -> Obj:
    """Bind the pod to this node and add the finalizer; returns the pod as stored."""
    for _ in range(ATTEMPTS):
        stored = _current(cluster, pod)
        if stored is None or is_being_deleted(stored):
            return pod
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
            return pod
    return pod


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

"""StorageClasses: the default `local` class and how a claim finds its class.

The default class binds in WaitForFirstConsumer mode. Local volumes belong to
one node, and on Kubernetes every local-volume class (kind's `standard`,
rancher's `local-path`, k3s) uses this mode, so a claim behaves the same on
both backends: it stays Pending until a pod uses it, and no directory is made
for a claim nobody mounts. PVCs made from a StatefulSet's volumeClaimTemplates
are created just before their pod, so members see no delay. Classes users
create may use either mode; both are honoured.
"""

from __future__ import annotations

from petset.api.errors import AlreadyExistsError, NotFoundError
from petset.api.meta import Obj, annotations_of, name_of
from petset.runtime.cluster import Cluster

DEFAULT_CLASS_NAME = "local"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
# The older beta annotation, still honoured by Kubernetes' admission plugin.
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
LOCAL_PROVISIONER = "petset.dev/local"
IMMEDIATE = "Immediate"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"


def default_storage_class(*, is_default: bool = True) -> Obj:
    """The `local` class petset creates at start."""
    annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if is_default else {}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": DEFAULT_CLASS_NAME, "annotations": annotations},
        "provisioner": LOCAL_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": WAIT_FOR_FIRST_CONSUMER,
        "allowVolumeExpansion": True,
    }


def is_default_class(sc: Obj) -> bool:
    ann = annotations_of(sc)
    return "true" in (ann.get(DEFAULT_CLASS_ANNOTATION), ann.get(BETA_DEFAULT_CLASS_ANNOTATION))


def pick_default_class(classes: list[Obj]) -> Obj | None:
    """The default class; with several, the newest wins (Kubernetes >= 1.26)."""
    defaults = [sc for sc in classes if is_default_class(sc)]
    if not defaults:
        return None
    return max(
        defaults,
        key=lambda sc: (str(sc["metadata"].get("creationTimestamp", "")), name_of(sc)),
    )


def ensure_default_storage_class(cluster: Cluster) -> Obj:
    """Create the `local` class when it does not exist; never touch an existing one.

    Idempotent, safe to call at every daemon start. When the user already marked
    another class as default, `local` is created without the default annotation
    so that there is still exactly one default.
    """
    try:
        return cluster.get("StorageClass", DEFAULT_CLASS_NAME)
    except NotFoundError:
        pass
    other_default = pick_default_class(cluster.list("StorageClass"))
    try:
        return cluster.create(default_storage_class(is_default=other_default is None))
    except AlreadyExistsError:
        return cluster.get("StorageClass", DEFAULT_CLASS_NAME)


def binding_mode(sc: Obj | None) -> str:
    if sc is None:
        return IMMEDIATE
    return str(sc.get("volumeBindingMode") or IMMEDIATE)


def reclaim_policy(sc: Obj) -> str:
    return str(sc.get("reclaimPolicy") or "Delete")


def allows_expansion(sc: Obj | None) -> bool:
    return bool(sc is not None and sc.get("allowVolumeExpansion"))


def get_class(cluster: Cluster, name: str) -> Obj | None:
    try:
        return cluster.get("StorageClass", name)
    except NotFoundError:
        return None

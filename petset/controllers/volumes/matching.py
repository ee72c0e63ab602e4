"""Pure decisions about claims and volumes: which PV fits a claim, who uses a claim.

These are Kubernetes' PV-controller rules (pkg/controller/volume/persistentvolume),
kept free of I/O so tests can call them with plain dicts.

Access modes on one machine: every pod runs on the one node, so ReadWriteOnce
("one node may mount it read-write"), ReadOnlyMany and ReadWriteMany all let
every pod of the node share the volume. ReadWriteOncePod is the only mode that
limits sharing: one pod at a time, which the node enforces when it mounts.
"""

from __future__ import annotations

from typing import Any

from petset.api.meta import (
    Obj,
    annotations_of,
    is_being_deleted,
    labels_of,
    name_of,
    namespace_of,
    uid_of,
)
from petset.api.selectors import selector_from_spec
from petset.controllers.volumes.quantity import QuantityError, storage_bytes

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"


def claim_problems(claim: Obj) -> list[str]:
    """What is wrong with a claim's spec, as 'field: reason' lines (empty when fine)."""
    spec = claim.get("spec") or {}
    problems = []
    modes = spec.get("accessModes") or []
    if not modes:
        problems.append("spec.accessModes: at least one access mode is required")
    for mode in modes:
        if mode not in ACCESS_MODES:
            problems.append(
                f"spec.accessModes: unsupported access mode {mode!r}; use one of "
                + ", ".join(ACCESS_MODES)
            )
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        problems.append("spec.accessModes: ReadWriteOncePod may not be combined with others")
    request = requested_storage(claim)
    if request is None:
        problems.append("spec.resources.requests.storage: required, e.g. 1Gi")
    mode = spec.get("volumeMode") or "Filesystem"
    if mode not in ("Filesystem", "Block"):
        problems.append(f"spec.volumeMode: {mode!r} must be Filesystem or Block")
    return problems


def requested_storage(claim: Obj) -> int | None:
    """spec.resources.requests.storage in bytes; None when missing or unreadable."""
    text = ((claim.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
    if text is None:
        return None
    try:
        return storage_bytes(text)
    except QuantityError:
        return None


def volume_capacity(pv: Obj) -> int:
    try:
        return storage_bytes(((pv.get("spec") or {}).get("capacity") or {}).get("storage", "0"))
    except QuantityError:
        return 0


def class_of_claim(claim: Obj) -> str | None:
    """The claim's class; None means "not set" (the default applies), "" means "no class"."""
    value = (claim.get("spec") or {}).get("storageClassName")
    return None if value is None else str(value)


def class_of_volume(pv: Obj) -> str:
    return str((pv.get("spec") or {}).get("storageClassName") or "")


def claim_ref_matches(pv: Obj, claim: Obj) -> bool:
    """The PV's claimRef names this claim (and this incarnation of it when a uid is set)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    if ref.get("name") != name_of(claim) or ref.get("namespace") != namespace_of(claim):
        return False
    return not ref.get("uid") or ref.get("uid") == uid_of(claim)


def volume_phase(pv: Obj) -> str:
    return str((pv.get("status") or {}).get("phase") or "Pending")


def mismatch(pv: Obj, claim: Obj) -> str | None:
    """Why this PV cannot satisfy this claim, or None when it can."""
    spec, pv_spec = claim.get("spec") or {}, pv.get("spec") or {}
    if class_of_volume(pv) != (class_of_claim(claim) or ""):
        return "storage class differs"
    if (pv_spec.get("volumeMode") or "Filesystem") != (spec.get("volumeMode") or "Filesystem"):
        return "volume mode differs"
    if not set(spec.get("accessModes") or []) <= set(pv_spec.get("accessModes") or []):
        return "access modes not offered"
    if volume_capacity(pv) < (requested_storage(claim) or 0):
        return "too small"
    if not selector_from_spec(spec.get("selector")).matches(labels_of(pv)):
        return "selector does not match"
    return None


def find_matching_volume(claim: Obj, volumes: list[Obj]) -> Obj | None:
    """The PV to bind: one pre-bound to this claim first, else the smallest fitting Available.

    A PV whose claimRef names another claim is never taken; one pre-bound to this
    claim by name (an administrator's choice) wins even when another would fit.
    """
    wanted = (claim.get("spec") or {}).get("volumeName")
    fitting: list[Obj] = []
    for pv in volumes:
        if is_being_deleted(pv) or mismatch(pv, claim) is not None:
            continue
        if wanted and name_of(pv) != wanted:
            continue
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref:
            if claim_ref_matches(pv, claim):
                return pv
            continue
        if volume_phase(pv) in ("Available", "Pending"):
            fitting.append(pv)
    if not fitting:
        return None
    return min(fitting, key=lambda pv: (volume_capacity(pv), name_of(pv)))


def claim_ref(claim: Obj) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": namespace_of(claim),
        "name": name_of(claim),
        "uid": uid_of(claim),
        "resourceVersion": str(claim["metadata"].get("resourceVersion", "")),
    }


def provisioned_volume(
    claim: Obj, storage_class: Obj, *, volumes_dir: str, node_name: str, provisioner: str
) -> Obj:
    """The PV the local provisioner makes: `pvc-<claim uid>`, a directory under volumes_dir."""
    name = f"pvc-{uid_of(claim)}"
    spec = claim.get("spec") or {}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {PROVISIONED_BY: provisioner},
            "finalizers": [PV_PROTECTION, local_volume_finalizer(provisioner)],
        },
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": list(spec.get("accessModes") or []),
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "storageClassName": name_of(storage_class),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
            "claimRef": claim_ref(claim),
            "hostPath": {"path": f"{volumes_dir}/{name}", "type": "DirectoryOrCreate"},
            "nodeAffinity": _node_affinity(node_name),
            "mountOptions": list(storage_class.get("mountOptions") or []),
        },
    }


def local_volume_finalizer(provisioner: str) -> str:
    """Held by provisioned PVs until the node removed their directory (as external-provisioner)."""
    return f"{provisioner}/volume-reclaim"


def _node_affinity(node_name: str) -> dict[str, Any]:
    term = {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [term]}]}}


def pod_claim_names(pod: Obj) -> list[str]:
    """Names of the PVCs a pod's volumes use."""
    out = []
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        src = vol.get("persistentVolumeClaim")
        if src and src.get("claimName"):
            out.append(str(src["claimName"]))
    return out


def pod_is_terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pods_using_claim(claim: Obj, pods: list[Obj]) -> list[Obj]:
    """Pods of the claim's namespace that use it and have not terminated (pvc-protection's rule)."""
    ns, name = namespace_of(claim), name_of(claim)
    return [
        p
        for p in pods
        if namespace_of(p) == ns and name in pod_claim_names(p) and not pod_is_terminated(p)
    ]


def read_write_once_pod_holder(claim: Obj, pod: Obj, pods: list[Obj]) -> Obj | None:
    """For a ReadWriteOncePod claim, another live pod already using it (or None)."""
    if "ReadWriteOncePod" not in ((claim.get("spec") or {}).get("accessModes") or []):
        return None
    for other in pods_using_claim(claim, pods):
        if uid_of(other) != uid_of(pod):
            return other
    return None


def was_provisioned_by(pv: Obj, provisioner: str) -> bool:
    return annotations_of(pv).get(PROVISIONED_BY) == provisioner

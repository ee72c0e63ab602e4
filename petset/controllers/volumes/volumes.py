"""The PV side of Kubernetes' PV controller: phase, release, reclaim, pv-protection.

A PV whose claim is gone is Released. Retain keeps it (and its data) until an
administrator acts; Delete deletes the PV object, whose directory the node
removes before it drops the provisioner's finalizer (`VolumeManager.reclaim`).
The controller itself never touches a file.
"""

from __future__ import annotations

import copy

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey, is_being_deleted, meta, name_of, uid_of
from petset.controllers.volumes.binding import VolumeConfig, set_volume_phase
from petset.controllers.volumes.matching import PV_PROTECTION, was_provisioned_by
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Result

PV = "PersistentVolume"


def desired_phase(pv: Obj, claim: Obj | None) -> str:
    """Available, Bound or Released, from the claimRef and the claim it names (pure)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return "Available"
    if not ref.get("uid"):
        # Pre-bound by an administrator to a claim that the claim controller has not bound yet.
        return "Available"
    if claim is not None and uid_of(claim) == ref["uid"]:
        return "Bound"
    return "Released"


def reconcile_volume(cluster: Cluster, key: ObjectKey, config: VolumeConfig) -> Result:
    try:
        pv = cluster.get(PV, key.name)
    except NotFoundError:
        return Result("volume is gone")
    phase = desired_phase(pv, _claim_of(cluster, pv))
    if is_being_deleted(pv):
        return _finish_deletion(cluster, pv, phase)
    pv = _ensure_protection(cluster, pv)
    if phase != "Released":
        set_volume_phase(cluster, pv, phase)
        return Result(f"volume is {phase}")
    return _reclaim(cluster, pv, config)


def _claim_of(cluster: Cluster, pv: Obj) -> Obj | None:
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return None
    try:
        return cluster.get("PersistentVolumeClaim", ref["name"], ref.get("namespace") or "")
    except NotFoundError:
        return None


def _ensure_protection(cluster: Cluster, pv: Obj) -> Obj:
    if PV_PROTECTION in (pv["metadata"].get("finalizers") or []):
        return pv
    new = copy.deepcopy(pv)
    meta(new).setdefault("finalizers", []).append(PV_PROTECTION)
    return cluster.update(new)


def _finish_deletion(cluster: Cluster, pv: Obj, phase: str) -> Result:
    """pv-protection: a PV being deleted goes only once no claim is bound to it."""
    if phase == "Bound":
        set_volume_phase(cluster, pv, phase)
        return Result("deletion waits: volume is bound to a claim")
    finalizers = list(pv["metadata"].get("finalizers") or [])
    if PV_PROTECTION in finalizers:
        pv = copy.deepcopy(pv)
        pv["metadata"]["finalizers"] = [f for f in finalizers if f != PV_PROTECTION]
        pv = cluster.update(pv)
    if pv["metadata"].get("finalizers"):
        return Result("volume is being deleted: waiting for its data to be reclaimed")
    return Result("volume deleted")


def _reclaim(cluster: Cluster, pv: Obj, config: VolumeConfig) -> Result:
    policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
    if policy == "Retain":
        set_volume_phase(cluster, pv, "Released")
        return Result("volume is Released; Retain keeps it and its data")
    if policy == "Delete" and was_provisioned_by(pv, config.provisioner):
        pv = set_volume_phase(cluster, pv, "Released")
        cluster.delete(PV, name_of(pv), uid=uid_of(pv))
        return Result("volume is Released; reclaim policy Delete: deleting it and its data")
    if policy == "Delete":
        msg = (
            f"only volumes provisioned by {config.provisioner} can be deleted by petset; "
            "delete the data and the PV yourself, or set persistentVolumeReclaimPolicy: Retain"
        )
        reason = "VolumeFailedDelete"
    else:
        msg = f"reclaim policy {policy!r} is not supported; use Retain or Delete"
        reason = "VolumeFailedRecycle" if policy == "Recycle" else "VolumeFailedReclaim"
    set_volume_phase(cluster, pv, "Failed", reason=reason, message=msg)
    cluster.record_event(pv, type="Warning", reason=reason, message=msg)
    return Result(f"volume Failed: {msg}")

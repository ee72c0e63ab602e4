"""The node-side half of the Delete reclaim policy.

The volume controller deletes a Released PV object; the provisioner's finalizer
keeps it until the node has removed the directory. Run as a controller
(`reclaim_controller`) or as a periodic sweep (`reclaim_all`).
"""

from __future__ import annotations

from petset.api.errors import NotFoundError
from petset.api.meta import is_being_deleted, name_of
from petset.controllers.volumes import LOCAL_PROVISIONER
from petset.controllers.volumes.matching import PV_PROTECTION, local_volume_finalizer
from petset.node.volumes.manager import VolumeManager
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Result


def reclaim_released(cluster: Cluster, manager: VolumeManager, name: str) -> Result:
    """Remove a deleted PV's data (Delete policy only), then let the PV object go.

    Acts only once pv-protection is gone, i.e. no claim is bound any more; a PV
    whose policy was changed to Retain loses the finalizer but keeps its data.
    """
    try:
        pv = cluster.get("PersistentVolume", name)
    except NotFoundError:
        return Result("volume is gone")
    finalizer = local_volume_finalizer(LOCAL_PROVISIONER)
    finalizers = list(pv["metadata"].get("finalizers") or [])
    if not is_being_deleted(pv) or finalizer not in finalizers:
        return Result("nothing to reclaim")
    if PV_PROTECTION in finalizers:
        return Result("reclaim waits for pv-protection")
    policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy")
    try:
        removed = manager.reclaim(pv) if policy == "Delete" else False
    except (OSError, ValueError) as err:
        cluster.record_event(pv, type="Warning", reason="VolumeFailedDelete", message=str(err))
        return Result(f"reclaim failed: {err}", requeue_after=30.0)
    pv["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
    cluster.update(pv)
    if policy != "Delete":
        return Result(f"volume deleted; reclaim policy {policy}: data kept")
    return Result("volume deleted and its directory removed" if removed else "volume deleted")


def reclaim_all(cluster: Cluster, manager: VolumeManager) -> list[str]:
    """One sweep over every PV being deleted; the outcome sentence of each one acted on."""
    done = []
    for pv in cluster.list("PersistentVolume"):
        if is_being_deleted(pv):
            result = reclaim_released(cluster, manager, name_of(pv))
            done.append(f"{name_of(pv)}: {result.message}")
    return done

"""Local storage: PVC binding, the `petset.dev/local` provisioner, reclaim and expansion.

Two controllers, as Kubernetes splits its PV controller: `claim_controller`
(PersistentVolumeClaim: bind, provision, pvc-protection, expansion) and
`volume_controller` (PersistentVolume: phase, release, reclaim, pv-protection).
The node side (directories, atomic writer, usage) is `petset.node.volumes`.
"""

from __future__ import annotations

from petset.api.meta import Obj, ObjectKey, name_of, namespace_of
from petset.api.settings import Settings
from petset.controllers.volumes.binding import VolumeConfig
from petset.controllers.volumes.claims import reconcile_claim
from petset.controllers.volumes.classes import (
    DEFAULT_CLASS_NAME,
    LOCAL_PROVISIONER,
    ensure_default_storage_class,
)
from petset.controllers.volumes.matching import pod_claim_names, read_write_once_pod_holder
from petset.controllers.volumes.volumes import reconcile_volume
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result

PVC = "PersistentVolumeClaim"
PV = "PersistentVolume"

__all__ = [
    "DEFAULT_CLASS_NAME",
    "LOCAL_PROVISIONER",
    "VolumeConfig",
    "claim_controller",
    "ensure_default_storage_class",
    "read_write_once_pod_holder",
    "volume_config",
    "volume_controller",
]


def volume_config(settings: Settings) -> VolumeConfig:
    return VolumeConfig(volumes_dir=str(settings.volumes_dir), node_name=settings.node_name)


def _claims_of_pod(cluster: Cluster, pod: Obj) -> list[ObjectKey]:
    return [ObjectKey(PVC, namespace_of(pod), c) for c in pod_claim_names(pod)]


def _claim_of_volume(cluster: Cluster, pv: Obj) -> list[ObjectKey]:
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref or not ref.get("name"):
        return []
    return [ObjectKey(PVC, str(ref.get("namespace") or ""), str(ref["name"]))]


def _unbound_claims(cluster: Cluster, sc: Obj) -> list[ObjectKey]:
    """A new or changed class may unblock pending claims (or give them a default)."""
    return [
        ObjectKey.of(c)
        for c in cluster.list(PVC)
        if not (c.get("spec") or {}).get("volumeName")
        and (c.get("spec") or {}).get("storageClassName") in (None, name_of(sc))
    ]


def _volumes_of_claim(cluster: Cluster, claim: Obj) -> list[ObjectKey]:
    names = {str(v) for v in [(claim.get("spec") or {}).get("volumeName")] if v}
    for pv in cluster.list(PV):
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if ref.get("name") == name_of(claim) and ref.get("namespace") == namespace_of(claim):
            names.add(name_of(pv))
    return [ObjectKey(PV, "", n) for n in sorted(names)]


def claim_controller(settings: Settings) -> Controller:
    config = volume_config(settings)

    def reconcile(cluster: Cluster, key: ObjectKey) -> Result:
        return reconcile_claim(cluster, key, config)

    return Controller(
        name="persistentvolumeclaims",
        kind=PVC,
        reconcile=reconcile,
        watches=(
            ("Pod", _claims_of_pod),
            (PV, _claim_of_volume),
            ("StorageClass", _unbound_claims),
        ),
        resync_seconds=60.0,
    )


def volume_controller(settings: Settings) -> Controller:
    config = volume_config(settings)

    def reconcile(cluster: Cluster, key: ObjectKey) -> Result:
        return reconcile_volume(cluster, key, config)

    return Controller(
        name="persistentvolumes",
        kind=PV,
        reconcile=reconcile,
        watches=((PVC, _volumes_of_claim),),
        resync_seconds=60.0,
    )

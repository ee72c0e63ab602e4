"""The node's volume work: directories, rendered ConfigMaps/Secrets, PV reclaim.

`VolumeManager` is what the kubelet calls (prepare / sync / release), plus
`reclaim` and `usage` for PVs. `reclaim_controller` is the node-side half of the
Delete reclaim policy: the volume controller deletes the PV object, this removes
its directory and then the provisioner's finalizer. `pods_to_sync` answers "a
ConfigMap or Secret changed: which pods must re-render their files?".
"""

from __future__ import annotations

from petset.api.meta import Obj, ObjectKey, name_of, namespace_of
from petset.node.volumes.atomic import AtomicWriter, FileProjection
from petset.node.volumes.manager import VolumeManager, disk_usage, host_path, volume_type
from petset.node.volumes.reclaim import reclaim_all, reclaim_released
from petset.node.volumes.sources import VolumeNotReady
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result

__all__ = [
    "AtomicWriter",
    "FileProjection",
    "VolumeManager",
    "VolumeNotReady",
    "disk_usage",
    "host_path",
    "pods_to_sync",
    "reclaim_all",
    "reclaim_controller",
    "reclaim_released",
    "sources_of_pod",
    "volume_type",
]


def sources_of_pod(pod: Obj) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap and Secret the pod's volumes render."""
    found: set[tuple[str, str]] = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if "configMap" in volume:
            found.add(("ConfigMap", str(volume["configMap"].get("name"))))
        if "secret" in volume:
            found.add(("Secret", str(volume["secret"].get("secretName"))))
        for item in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in item:
                found.add(("ConfigMap", str(item["configMap"].get("name"))))
            if "secret" in item:
                found.add(("Secret", str(item["secret"].get("name"))))
    return found


def pods_to_sync(changed: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods whose volume files come from `changed` (a ConfigMap or Secret)."""
    wanted = (str(changed.get("kind")), name_of(changed))
    ns = namespace_of(changed)
    return [p for p in pods if namespace_of(p) == ns and wanted in sources_of_pod(p)]


def reclaim_controller(manager: VolumeManager) -> Controller:
    """The node's reclaimer as a Controller for the manager (the server registers it)."""

    def reconcile(cluster: Cluster, key: ObjectKey) -> Result:
        return reclaim_released(cluster, manager, key.name)

    return Controller(name="volume-reclaimer", kind="PersistentVolume", reconcile=reconcile)

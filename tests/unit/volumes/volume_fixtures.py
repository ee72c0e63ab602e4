"""Helpers for the volume controller tests: object builders and a driver to convergence."""

from __future__ import annotations

from typing import Any

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey
from petset.controllers.volumes import VolumeConfig
from petset.controllers.volumes.claims import reconcile_claim
from petset.controllers.volumes.volumes import reconcile_volume
from petset.runtime.memory import MemoryCluster

CONFIG = VolumeConfig(volumes_dir="/srv/petset/volumes", node_name="node-a")


def converge(cluster: MemoryCluster, rounds: int = 10) -> list[str]:
    """Reconcile every claim and volume until nothing changes; the outcome sentences."""
    messages: list[str] = []
    for _ in range(rounds):
        before = _versions(cluster)
        for c in cluster.list("PersistentVolumeClaim"):
            messages.append(reconcile_claim(cluster, ObjectKey.of(c), CONFIG).message)
        for v in cluster.list("PersistentVolume"):
            messages.append(reconcile_volume(cluster, ObjectKey.of(v), CONFIG).message)
        if _versions(cluster) == before:
            return messages
    raise AssertionError("volume controllers did not converge:\n" + "\n".join(messages[-8:]))


def _versions(cluster: MemoryCluster) -> list[tuple[str, str]]:
    return [
        (o["metadata"]["name"], o["metadata"]["resourceVersion"])
        for kind in ("PersistentVolumeClaim", "PersistentVolume")
        for o in cluster.list(kind)
    ]


def storage_class(name: str, *, mode: str = "Immediate", **extra: Any) -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "petset.dev/local",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": mode,
        "allowVolumeExpansion": True,
        **extra,
    }


def claim(name: str, size: str = "1Gi", *, cls: str | None = "fast", **spec: Any) -> Obj:
    body: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        **spec,
    }
    if cls is not None:
        body["storageClassName"] = cls
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": body,
    }


def volume(name: str, size: str, *, cls: str = "manual", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": spec.pop("labels", {})},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": cls,
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": f"/data/{name}"},
            **spec,
        },
    }


def pod(name: str, *claims: str, phase: str = "Running") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": "node-a",
            "containers": [{"name": "c", "image": "x"}],
            "volumes": [
                {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
                for i, c in enumerate(claims)
            ],
        },
        "status": {"phase": phase},
    }


def get_or_none(cluster: MemoryCluster, kind: str, name: str, ns: str = "") -> Obj | None:
    try:
        return cluster.get(kind, name, ns)
    except NotFoundError:
        return None


def reasons(cluster: MemoryCluster, name: str) -> list[str]:
    return [e["reason"] for e in cluster.events if e["involvedObject"]["name"] == name]


def new_cluster() -> MemoryCluster:
    c = MemoryCluster()
    c.create(storage_class("fast"))
    return c

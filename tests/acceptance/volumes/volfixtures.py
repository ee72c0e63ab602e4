"""Helpers for the node-side volume tests: a MemoryCluster, real files in a temp dir."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

from petset.api.meta import Obj, ObjectKey
from petset.api.settings import Settings
from petset.controllers.volumes import ensure_default_storage_class, volume_config
from petset.controllers.volumes.claims import reconcile_claim
from petset.controllers.volumes.volumes import reconcile_volume
from petset.node.volumes import VolumeManager, reclaim_released
from petset.runtime.memory import MemoryCluster

LOG = logging.getLogger("test.volumes")


def setup(tmp_path: Path) -> tuple[Settings, MemoryCluster, VolumeManager]:
    settings = Settings(home=tmp_path / "home")
    cluster = MemoryCluster()
    ensure_default_storage_class(cluster)
    return settings, cluster, VolumeManager(settings, cluster, logger=LOG)


def converge(settings: Settings, cluster: MemoryCluster, manager: VolumeManager) -> None:
    """Run the volume controllers and the node's reclaimer until nothing changes."""
    config = volume_config(settings)
    for _ in range(10):
        before = [
            (o["metadata"]["name"], o["metadata"]["resourceVersion"])
            for k in ("PersistentVolumeClaim", "PersistentVolume")
            for o in cluster.list(k)
        ]
        for c in cluster.list("PersistentVolumeClaim"):
            reconcile_claim(cluster, ObjectKey.of(c), config)
        for v in cluster.list("PersistentVolume"):
            reconcile_volume(cluster, ObjectKey.of(v), config)
            reclaim_released(cluster, manager, v["metadata"]["name"])
        after = [
            (o["metadata"]["name"], o["metadata"]["resourceVersion"])
            for k in ("PersistentVolumeClaim", "PersistentVolume")
            for o in cluster.list(k)
        ]
        if after == before:
            return
    raise AssertionError("volume controllers did not converge")


def pod(name: str, volumes: list[dict[str, Any]], **meta: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", **meta},
        "spec": {
            "nodeName": "local",
            "containers": [
                {
                    "name": "main",
                    "image": "x",
                    "resources": {"limits": {"memory": "256Mi", "cpu": "1500m"}},
                }
            ],
            "volumes": volumes,
        },
        "status": {"phase": "Pending"},
    }


def config_map(name: str, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": data,
    }


def secret(name: str, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def claim(name: str, size: str = "1Gi", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            **spec,
        },
    }

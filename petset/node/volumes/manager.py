"""VolumeManager: the kubelet's volume work for local pods.

`prepare(pod)` returns, for every entry of `pod.spec.volumes`, the host path the
sandbox binds at the containers' mountPaths. Per-pod content lives under the
kubelet's own layout, `<pods_dir>/<ns>_<name>_<uid>/volumes/<plugin>/<volume>`;
PV data lives under `settings.volumes_dir` and is never touched by `release`.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, is_being_deleted, name_of, namespace_of, uid_of
from petset.api.settings import Settings
from petset.controllers.volumes import read_write_once_pod_holder
from petset.node.volumes.atomic import AtomicWriter
from petset.node.volumes.projected import projected_payload
from petset.node.volumes.sources import (
    Payload,
    VolumeNotReady,
    config_map_payload,
    downward_payload,
    secret_payload,
)
from petset.runtime.cluster import Cluster

PLUGINS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
RENDERED = ("configMap", "secret", "downwardAPI", "projected")


def volume_type(volume: dict[str, Any]) -> str:
    """The source key of a pod volume (`persistentVolumeClaim`, `emptyDir`, ...)."""
    return next((k for k in volume if k != "name"), "emptyDir")


class VolumeManager:
    def __init__(self, settings: Settings, cluster: Cluster, *, logger: logging.Logger) -> None:
        self.settings = settings
        self.cluster = cluster
        self.log = logger

    # -- paths ------------------------------------------------------------
    def pod_volumes_dir(self, pod: Obj) -> Path:
        """Same pod directory as the kubelet's: `<pods_dir>/<ns>_<name>_<uid>`."""
        pod_dir = f"{namespace_of(pod) or 'default'}_{name_of(pod)}_{uid_of(pod)}"
        return self.settings.pods_dir / pod_dir / "volumes"

    def _volume_dir(self, pod: Obj, volume: dict[str, Any]) -> Path:
        plugin = PLUGINS[volume_type(volume)]
        return self.pod_volumes_dir(pod) / plugin / str(volume["name"])

    # -- prepare / sync / release ----------------------------------------
    def prepare(self, pod: Obj) -> dict[str, Path]:
        """Volume name -> host path to bind; VolumeNotReady when a source is not there yet."""
        paths: dict[str, Path] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            paths[str(volume["name"])] = self._prepare_one(pod, volume)
        return paths

    def _prepare_one(self, pod: Obj, volume: dict[str, Any]) -> Path:
        kind = volume_type(volume)
        source = volume.get(kind) or {}
        if kind == "persistentVolumeClaim":
            return self._claim_path(pod, source)
        if kind == "hostPath":
            return host_path(source)
        if kind == "emptyDir":
            path = self._volume_dir(pod, volume)
            if source.get("medium") == "Memory":
                self.log.debug("emptyDir %s: medium Memory is a plain directory here", path)
            _make_dir(path, 0o777)  # as the kubelet: any container user may write
            return path
        if kind in RENDERED:
            path = self._volume_dir(pod, volume)
            AtomicWriter(path).write(self._payload(pod, kind, source))
            return path
        raise VolumeNotReady(
            f"volume {volume['name']!r}: {kind} volumes are not supported locally; use "
            "persistentVolumeClaim, emptyDir, hostPath, configMap, secret, downwardAPI or projected"
        )

    def sync(self, pod: Obj) -> None:
        """Re-render configMap/secret/downwardAPI/projected volumes whose source changed."""
        self.refresh(pod)

    def refresh(self, pod: Obj) -> list[str]:
        """Like `sync`, returning the names of the volumes whose files changed.

        A source that vanished keeps its last content (the kubelet does the same)
        and is logged; the pod keeps running.
        """
        changed = []
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            kind = volume_type(volume)
            if kind not in RENDERED:
                continue
            try:
                payload = self._payload(pod, kind, volume.get(kind) or {})
            except VolumeNotReady as err:
                self.log.warning("pod %s volume %s: %s", name_of(pod), volume["name"], err.reason)
                continue
            if AtomicWriter(self._volume_dir(pod, volume)).write(payload):
                changed.append(str(volume["name"]))
        return changed

    def release(self, pod: Obj) -> None:
        """Remove the pod's own volume directories; PV data is elsewhere and stays."""
        shutil.rmtree(self.pod_volumes_dir(pod), ignore_errors=True)

    # -- sources ----------------------------------------------------------
    def _lookup(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return self.cluster.get(kind, name, namespace)
        except NotFoundError:
            return None

    def _payload(self, pod: Obj, kind: str, source: dict[str, Any]) -> Payload:
        ns = namespace_of(pod) or "default"
        render: dict[str, Callable[[], Payload]] = {
            "configMap": lambda: config_map_payload(source, ns, self._lookup),
            "secret": lambda: secret_payload(source, ns, self._lookup),
            "downwardAPI": lambda: downward_payload(source, pod),
            "projected": lambda: projected_payload(source, pod, self._lookup, self.log),
        }
        return render[kind]()

    # -- persistent volumes ------------------------------------------------
    def _claim_path(self, pod: Obj, source: dict[str, Any]) -> Path:
        ns, name = namespace_of(pod) or "default", str(source.get("claimName") or "")
        claim = self._lookup("PersistentVolumeClaim", ns, name)
        if claim is None:
            raise VolumeNotReady(f'persistentvolumeclaim "{name}" not found')
        if is_being_deleted(claim):
            raise VolumeNotReady(f'persistentvolumeclaim "{name}" is being deleted')
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if (claim.get("status") or {}).get("phase") != "Bound" or not volume_name:
            raise VolumeNotReady(f'persistentvolumeclaim "{name}" is not bound yet')
        holder = read_write_once_pod_holder(claim, pod, self.cluster.list("Pod", ns))
        if holder is not None:
            raise VolumeNotReady(
                f'persistentvolumeclaim "{name}" is ReadWriteOncePod and in use by pod '
                f'"{name_of(holder)}"'
            )
        pv = self._lookup("PersistentVolume", "", str(volume_name))
        if pv is None:
            raise VolumeNotReady(f'persistentvolume "{volume_name}" not found')
        spec = pv.get("spec") or {}
        if spec.get("hostPath"):
            return host_path(spec["hostPath"], mode=self._provisioned_mode(spec["hostPath"]))
        if spec.get("local"):
            return host_path({"path": spec["local"]["path"], "type": "Directory"})
        raise VolumeNotReady(f'persistentvolume "{volume_name}": only hostPath/local PVs work here')

    def _provisioned_mode(self, source: dict[str, Any]) -> int:
        """Provisioned directories are 0777 like local-path-provisioner's; others 0755."""
        inside = Path(str(source.get("path"))).parent == self.settings.volumes_dir
        return 0o777 if inside else 0o755

    def reclaim(self, pv: Obj) -> bool:
        """Delete a PV's directory (reclaimPolicy Delete); refuses paths outside volumes_dir."""
        path = Path(str(((pv.get("spec") or {}).get("hostPath") or {}).get("path") or ""))
        root = self.settings.volumes_dir.resolve()
        target = path.resolve() if path.is_absolute() else None
        if target is None or target == root or root not in target.parents:
            raise ValueError(
                f"refusing to delete {str(path)!r} of {name_of(pv)}: not inside {root}"
            )
        if not target.exists():
            return False
        shutil.rmtree(target)
        self.log.info("reclaimed volume %s: removed %s", name_of(pv), target)
        return True

    def usage(self, pv: Obj) -> int:
        """Bytes the PV's directory uses on disk (like `du -s`, hard links counted once)."""
        spec = pv.get("spec") or {}
        path = (spec.get("hostPath") or spec.get("local") or {}).get("path")
        return disk_usage(Path(path)) if path else 0


def host_path(source: dict[str, Any], *, mode: int = 0o755) -> Path:
    """Check (or create) a hostPath as its `type` says; VolumeNotReady names the problem."""
    path = Path(str(source.get("path") or ""))
    kind = str(source.get("type") or "")
    if not path.is_absolute():
        raise VolumeNotReady(f"hostPath {str(path)!r}: must be an absolute path")
    if kind == "DirectoryOrCreate":
        _make_dir(path, mode)
    elif kind == "FileOrCreate" and not path.exists():
        if not path.parent.is_dir():
            raise VolumeNotReady(f"hostPath {path}: parent directory does not exist")
        path.touch(0o644)
    checks: dict[str, Callable[[int], bool]] = {
        "Directory": stat.S_ISDIR,
        "DirectoryOrCreate": stat.S_ISDIR,
        "File": stat.S_ISREG,
        "FileOrCreate": stat.S_ISREG,
        "Socket": stat.S_ISSOCK,
        "CharDevice": stat.S_ISCHR,
        "BlockDevice": stat.S_ISBLK,
    }
    if kind and kind not in checks:
        raise VolumeNotReady(f"hostPath {path}: unknown type {kind!r}")
    if kind:
        try:
            ok = checks[kind](os.stat(path).st_mode)
        except FileNotFoundError:
            ok = False
        if not ok:
            raise VolumeNotReady(f"hostPath type check failed: {path} is not a {kind}")
    return path


def _make_dir(path: Path, mode: int) -> None:
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)  # mkdir's mode is narrowed by the umask


def disk_usage(root: Path) -> int:
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in [dirpath, *(os.path.join(dirpath, n) for n in filenames)]:
            try:
                st = os.lstat(entry)
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
        dirnames.sort()
    return total

"""The node's own volume handling when no VolumeManager is plugged in: emptyDir and
hostPath only (everything else needs petset.node.volumes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from petset.api.meta import Obj
from petset.api.settings import Settings
from petset.node.paths import pod_dir


class VolumeError(Exception):
    pass


class BasicVolumes:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def prepare(self, pod: Obj) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            name = str(vol["name"])
            if "emptyDir" in vol:
                path = pod_dir(self._settings, pod) / "volumes" / name
                path.mkdir(parents=True, exist_ok=True)
            elif "hostPath" in vol:
                path = Path(vol["hostPath"]["path"])
                kind = vol["hostPath"].get("type") or ""
                if kind == "DirectoryOrCreate":
                    path.mkdir(parents=True, exist_ok=True)
                elif kind == "FileOrCreate" and not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                if not path.exists():
                    raise VolumeError(f"volume {name!r}: hostPath {path} does not exist")
            else:
                kinds = sorted(k for k in vol if k != "name")
                raise VolumeError(f"volume {name!r}: {kinds} needs the node's volume manager")
            out[name] = path
        return out

    def sync(self, pod: Obj) -> None:
        return None

    def release(self, pod: Obj) -> None:
        shutil.rmtree(pod_dir(self._settings, pod) / "volumes", ignore_errors=True)

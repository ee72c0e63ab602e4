"""Where a pod's files live on the host: settings.pods_dir/<ns>_<name>_<uid>/."""

from __future__ import annotations

from pathlib import Path

from petset.api.meta import Obj, name_of, namespace_of, uid_of
from petset.api.settings import Settings


def pod_dir(settings: Settings, pod: Obj) -> Path:
    return settings.pods_dir / f"{namespace_of(pod) or 'default'}_{name_of(pod)}_{uid_of(pod)}"


def uid_of_dir(path: Path) -> str:
    return path.name.rsplit("_", 1)[-1]

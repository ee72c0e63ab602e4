"""Seams the node takes from the other node-layer components (volumes, network files).

Each is optional in `Node.__init__`: without a volume manager the node handles
emptyDir and hostPath itself; without network files it binds nothing at
/etc/resolv.conf and /etc/hosts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from petset.api.meta import Obj
from petset.node.mounts import Mount


class VolumeProvider(Protocol):
    def prepare(self, pod: Obj) -> dict[str, Path]:
        """Volume name -> host directory or file to bind (ready before containers start)."""
        ...

    def sync(self, pod: Obj) -> None:
        """Refresh projected content (ConfigMap/Secret volumes) while the pod runs."""
        ...

    def release(self, pod: Obj) -> None:
        """The pod is gone: drop what prepare() made for it (never persistent data)."""
        ...


class NetworkFiles(Protocol):
    def __call__(self, pod: Obj) -> list[Mount]:
        """What puts the pod's /etc/resolv.conf and /etc/hosts in place (binds or links)."""
        ...

"""The node finds a pod's worker by name: a recreated StatefulSet member, not its predecessor."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from petset.api.settings import Settings
from petset.node.node import Node
from petset.node.podworker import PodWorker
from petset.runtime.memory import MemoryCluster


def _pod(uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "uid": uid},
        "spec": {"containers": [{"name": "c", "image": "x", "command": ["sleep", "1"]}]},
    }


def test_exec_and_logs_reach_the_live_pod_not_its_deleted_predecessor(tmp_path: Path) -> None:
    node = Node(Settings(home=tmp_path), MemoryCluster(), logger=logging.getLogger("test"))
    old = PodWorker(node._ctx, _pod("old"))
    old.deleted = True
    old.done.set()
    new = PodWorker(node._ctx, _pod("new"))
    node._workers = {"old": old, "new": new}
    assert node._worker("default", "web-0") is new
    node._workers = {"new": new, "old": old}
    assert node._worker("default", "web-0") is new

"""A real Node over a MemoryCluster, with short backoffs and a private loopback range."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from petset.api.meta import Obj
from petset.api.settings import Settings
from petset.node.node import Node
from petset.runtime.memory import MemoryCluster


def random_cidr() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"


class NodeHarness:
    def __init__(self, home: Path) -> None:
        self.settings = Settings(
            home=home, pod_cidr=random_cidr(), backoff_base_seconds=0.4, backoff_max_seconds=1.6
        )
        self.cluster = MemoryCluster()
        self.node = self.new_node()
        self.nodes = [self.node]

    def new_node(self) -> Node:
        return Node(self.settings, self.cluster, logger=logging.getLogger("test.node"))

    def restart_node(self) -> Node:
        """What a daemon restart does: stop the node's threads, start a new Node."""
        self.node.stop()
        self.node = self.new_node()
        self.nodes.append(self.node)
        self.node.start()
        return self.node

    def create_pod(self, name: str, spec: Obj, **meta: Any) -> Obj:
        return self.cluster.create(
            {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {"name": name, "namespace": "default", **meta},
                "spec": spec,
            }
        )

    def pod(self, name: str) -> Obj:
        return self.cluster.get("Pod", name, "default")

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = check()
            except Exception as e:  # not there yet
                last = e
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: last={last!r}")

    def status_of(self, pod: str, container: str) -> Obj:
        for s in (self.pod(pod).get("status") or {}).get("containerStatuses") or []:
            if s["name"] == container:
                return dict(s)
        return {}

    def ready(self, pod: str) -> bool:
        conds = (self.pod(pod).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[NodeHarness]:
    h = NodeHarness(tmp_path / "home")
    h.node.start()
    try:
        yield h
    finally:
        # The node's own shutdown signals every sandbox by its recorded PID.
        h.node.shutdown_pods()

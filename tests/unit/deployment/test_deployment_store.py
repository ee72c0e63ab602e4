"""The two controllers under the real manager and the SQLite store (LocalCluster),
with a fake kubelet thread: what the daemon runs, minus processes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_fixtures import NS, image_of, make_deployment

from petset.api.errors import PetsetError
from petset.controllers import deployment, replicaset
from petset.controllers.deployment import rollout
from petset.controllers.deployment.common import format_time, utc_now
from petset.runtime.local import LocalCluster
from petset.runtime.manager import Manager
from petset.store.store import Store


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    c = LocalCluster(Store(tmp_path / "state.db"))
    manager = Manager(c, [replicaset.controller(), deployment.controller()])
    stop = threading.Event()

    def kubelet() -> None:
        while not stop.is_set():
            for pod in c.list("Pod", NS):
                if (pod.get("status") or {}).get("phase"):
                    continue
                stamp = format_time(utc_now())
                pod["status"] = {
                    "phase": "Running",
                    "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": stamp}
                    ],
                }
                # deleted or changed meanwhile: the next sweep sees it again
                with contextlib.suppress(PetsetError):
                    c.update_status(pod)
            stop.wait(0.02)

    thread = threading.Thread(target=kubelet, daemon=True)
    manager.start()
    thread.start()
    try:
        yield c
    finally:
        stop.set()
        thread.join(5)
        manager.stop()


def _rolled_out(c: LocalCluster, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    message = ""
    while time.monotonic() < deadline:
        done, message = rollout.rollout_status(c.get("Deployment", "web", NS))
        if done:
            return message
        time.sleep(0.05)
    raise AssertionError(f"rollout not done: {message}")


def test_rollout_and_undo_over_the_store(cluster: LocalCluster) -> None:
    cluster.create(make_deployment(replicas=3))
    assert _rolled_out(cluster) == 'deployment "web" successfully rolled out'
    d = cluster.get("Deployment", "web", NS)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    cluster.update(d)
    _rolled_out(cluster)
    assert sorted(image_of(p) for p in cluster.list("Pod", NS)) == ["v2"] * 3
    assert rollout.rollout_undo(cluster, NS, "web") == "deployment.apps/web rolled back"
    _rolled_out(cluster)
    assert sorted(image_of(p) for p in cluster.list("Pod", NS)) == ["v1"] * 3
    history = rollout.rollout_history(cluster, NS, "web")
    assert [r.revision for r in history] == [2, 3]

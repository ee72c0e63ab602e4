"""A daemon restart re-adopts running sandboxes and restarts what died meanwhile."""

from __future__ import annotations

import os
import signal
import time

import pytest

from petset.node import sandbox
from tests.acceptance.node.conftest import NodeHarness

pytestmark = pytest.mark.acceptance


def _instance(h: NodeHarness, pod: str) -> sandbox.Instance:
    inst = h.node._container("default", pod, None).instance
    assert inst is not None
    return inst


def test_restart_adopts_running_pods_and_keeps_restart_count(harness: NodeHarness) -> None:
    harness.create_pod(
        "keep",
        {
            "containers": [
                {
                    "name": "app",
                    "command": ["sh", "-c", "echo up; exec sleep 300"],
                    "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                }
            ]
        },
    )
    harness.wait("ready", lambda: harness.ready("keep"))
    harness.node.pod_exec("default", "keep", ["touch", "/tmp/marker"])
    before = _instance(harness, "keep")
    status_before = harness.pod("keep")["status"]
    node = harness.restart_node()
    harness.wait("adopted", lambda: node._container("default", "keep", None).running)
    after = _instance(harness, "keep")
    assert (after.bwrap_pid, after.child_pid) == (before.bwrap_pid, before.child_pid)
    time.sleep(1.0)
    assert sandbox.is_alive(after)
    assert harness.ready("keep")  # no flap to not-ready on adoption
    status = harness.pod("keep")["status"]
    assert status["containerStatuses"] == status_before["containerStatuses"]
    # Same sandbox: the file written before the restart is still in its private /tmp.
    assert node.pod_exec("default", "keep", ["test", "-f", "/tmp/marker"]).exit_code == 0
    assert node.pod_logs("default", "keep") == "up\n"


def test_container_killed_while_node_down_is_restarted(harness: NodeHarness) -> None:
    harness.create_pod("dies", {"containers": [{"name": "app", "command": ["sleep", "300"]}]})
    harness.wait("ready", lambda: harness.ready("dies"))
    inst = _instance(harness, "dies")
    harness.node.stop()
    os.kill(sandbox.app_pids(inst)[0], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while sandbox.is_alive(inst) and time.monotonic() < deadline:
        time.sleep(0.02)
    harness.restart_node()
    s = harness.wait(
        "restarted",
        lambda: (
            harness.status_of("dies", "app").get("restartCount") == 1
            and "running" in harness.status_of("dies", "app")["state"]
            and harness.status_of("dies", "app")
        ),
    )
    assert s["lastState"]["terminated"]["exitCode"] == 137
    assert _instance(harness, "dies").bwrap_pid != inst.bwrap_pid


def test_pod_deleted_while_node_down_is_stopped(harness: NodeHarness) -> None:
    harness.create_pod("gone", {"containers": [{"name": "app", "command": ["sleep", "300"]}]})
    harness.wait("ready", lambda: harness.ready("gone"))
    inst = _instance(harness, "gone")
    pod_dir = next(harness.settings.pods_dir.iterdir())
    harness.node.stop()
    # Force-remove the object: drop our finalizer then delete.
    pod = harness.pod("gone")
    pod["metadata"]["finalizers"] = []
    harness.cluster.update(pod)
    harness.cluster.delete("Pod", "gone", "default")
    harness.restart_node()
    harness.wait("stopped", lambda: not sandbox.is_alive(inst) and not pod_dir.exists())
    assert harness.node.pool.lookup("default/gone") is None  # a bare pod's IP is released

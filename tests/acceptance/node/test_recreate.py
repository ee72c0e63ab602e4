"""A pod deleted and at once recreated under the same name (what a StatefulSet does to
a member) gets its own volumes and sandboxes: the old pod's teardown, however late
its events arrive, touches nothing of the new one and leaves no sandbox behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from petset.api.errors import AlreadyExistsError
from petset.api.meta import Obj, uid_of
from petset.node import sandbox
from petset.node.containers import Record
from petset.node.node import WATCH_TIMEOUT
from tests.acceptance.node.conftest import NodeHarness

pytestmark = pytest.mark.acceptance

ROUNDS = 4


def _spec() -> Obj:
    return {
        "terminationGracePeriodSeconds": 2,
        "volumes": [{"name": "data", "emptyDir": {}}],
        "initContainers": [
            {
                "name": "init",
                "command": ["sh", "-c", "echo $(UID) > /data/owner"],
                "env": [{"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        "containers": [
            {
                "name": "app",
                "command": ["sleep", "300"],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "readinessProbe": {"exec": {"command": ["cat", "/data/owner"]}, "periodSeconds": 1},
            }
        ],
    }


def _recreate(h: NodeHarness, name: str) -> Obj:
    """Delete, then create again the moment the name is free."""
    h.cluster.delete("Pod", name, "default")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            return h.create_pod(name, _spec())
        except AlreadyExistsError:
            time.sleep(0.002)
    raise AssertionError(f"pod {name} was not released by the node")


def _owner_seen_inside(h: NodeHarness, name: str) -> str:
    r = h.node.pod_exec("default", name, ["cat", "/data/owner"])
    return r.stdout.decode().strip() if r.exit_code == 0 else f"exit {r.exit_code}"


def _live_sandboxes(pods_dir: Path) -> dict[str, int]:
    """Pod directory name -> sandboxes alive according to the records on disk."""
    out: dict[str, int] = {}
    for record in pods_dir.glob("*/containers/*.json"):
        inst = Record(**__import__("json").loads(record.read_text())).instance
        if inst and sandbox.is_alive(sandbox.Instance.from_json(inst)):
            out[record.parents[1].name] = out.get(record.parents[1].name, 0) + 1
    return out


def test_delete_and_recreate_same_name_keeps_the_new_pods_volume(harness: NodeHarness) -> None:
    h = harness
    # A long-lived pod listed after the churned one: a watch resumed from the last
    # listed object's version would replay the churned pod's whole history.
    h.create_pod("zz-steady", {"containers": [{"name": "app", "command": ["sleep", "300"]}]})
    pod = h.create_pod("m-0", _spec())
    for round_ in range(ROUNDS):
        uid = uid_of(pod)
        h.wait(f"round {round_}: m-0 ready", lambda: h.ready("m-0"), timeout=20)
        assert _owner_seen_inside(h, "m-0") == uid
        if round_ == ROUNDS // 2:
            # A daemon restart, then a quiet moment (adopted pods write no status): the
            # node's watch ends with no event after its initial list and resumes.
            h.restart_node()
            time.sleep(WATCH_TIMEOUT + 1.0)
            assert _owner_seen_inside(h, "m-0") == uid
        pod = _recreate(h, "m-0")
    uid = uid_of(pod)
    h.wait("last m-0 ready", lambda: h.ready("m-0"), timeout=20)
    time.sleep(1.5)  # let any late event of the old pods arrive
    stored = h.pod("m-0")
    assert uid_of(stored) == uid
    assert _owner_seen_inside(h, "m-0") == uid
    assert h.ready("m-0")
    assert stored["metadata"]["finalizers"] == ["petset.dev/kubelet"]
    statuses = stored["status"]["containerStatuses"]
    assert all(s["containerID"].startswith(f"petset://{uid[:8]}-") for s in statuses)
    live = _live_sandboxes(h.settings.pods_dir)
    assert live == {
        f"default_m-0_{uid}": 1,
        f"default_zz-steady_{uid_of(h.pod('zz-steady'))}": 1,
    }
    assert sorted(p.name for p in h.settings.pods_dir.iterdir()) == sorted(live)

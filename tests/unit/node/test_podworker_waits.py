"""A pod worker sleeps until the next thing is due instead of polling.

Containers are marked running by giving them an instance record of this test
process itself (alive, with its real start ticks), so the worker's passes run
for real: probes against a loopback HTTP server, status written to a MemoryCluster.
"""

from __future__ import annotations

import http.server
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petset.api.settings import Settings
from petset.node import podworker
from petset.node.containers import Container
from petset.node.exitwatch import ExitWatcher
from petset.node.node import Node
from petset.node.podworker import PodWorker
from petset.node.sandbox import Instance, proc_start_ticks
from petset.runtime.memory import MemoryCluster

from .httpserve import serve_http


class Ready(http.server.BaseHTTPRequestHandler):
    ok = True

    def do_GET(self) -> None:
        self.send_response(200 if Ready.ok else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    Ready.ok = True
    with serve_http(Ready) as address:
        yield address


def _worker(tmp_path: Path, spec: dict[str, Any], *, exits: bool = True) -> PodWorker:
    cluster = MemoryCluster()
    pod = cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "db-0", "namespace": "default"},
            "spec": spec,
        }
    )
    node = Node(Settings(home=tmp_path), cluster, logger=logging.getLogger("test"))
    node._ctx.exits = ExitWatcher(logging.getLogger("test")) if exits else None
    return PodWorker(node._ctx, pod)


def _run_here(c: Container, tmp_path: Path) -> None:
    """Record this very process as the container's running instance."""
    me = os.getpid()
    ticks = proc_start_ticks(me)
    assert ticks is not None
    inst = Instance(me, ticks, me, str(tmp_path / "st.json"), str(tmp_path / "x.log"), time.time())
    c.record.instance = inst.to_json()


def _readiness(port: int, period: int = 1) -> dict[str, Any]:
    return {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": period}


def test_a_running_pod_sleeps_until_its_next_probe_not_half_a_second(
    tmp_path: Path, server: tuple[str, int]
) -> None:
    host, port = server
    spec = {"containers": [{"name": "db", "command": ["x"], "readinessProbe": _readiness(port, 3)}]}
    w = _worker(tmp_path, spec)
    w._meta["podIP"] = host
    db = w.mains[0]
    _run_here(db, tmp_path)
    w._last_volume_sync = time.monotonic()
    db.probes["readiness"].next_at = time.monotonic() + 1.5
    wait = w._next_wait(init_done=True)
    assert 1.3 < wait <= 1.5  # the probe, not a poll
    assert w._full_at - time.monotonic() > 4.5  # full pass: the volume upkeep, 5 s
    db.probes["readiness"].next_at = time.monotonic() - 1
    w.tick()  # the light pass runs the due probe, readiness flips, status is written
    assert db.probes["readiness"].state.success
    assert db.probes["readiness"].next_at > time.monotonic() + 2.5
    status = w.ctx.cluster.get("Pod", "db-0", "default")["status"]
    assert status["containerStatuses"][0]["ready"] is True


def test_without_probes_the_log_index_paces_the_light_passes(tmp_path: Path) -> None:
    w = _worker(tmp_path, {"containers": [{"name": "app", "command": ["x"]}]})
    _run_here(w.mains[0], tmp_path)
    w._last_volume_sync = time.monotonic()
    assert w._next_wait(init_done=True) == pytest.approx(podworker.LOG_MARK_SECONDS, abs=0.05)


def test_without_pidfd_exits_are_polled(tmp_path: Path) -> None:
    w = _worker(tmp_path, {"containers": [{"name": "app", "command": ["x"]}]}, exits=False)
    _run_here(w.mains[0], tmp_path)
    w._last_volume_sync = time.monotonic()
    assert w._next_wait(init_done=True) == pytest.approx(podworker.POLL_WAIT, abs=0.05)


def test_a_running_init_does_not_spin_on_the_inits_after_it(tmp_path: Path) -> None:
    inits = [{"name": f"i{n}", "command": ["x"]} for n in range(2)]
    spec = {"initContainers": inits, "containers": [{"name": "app", "command": ["x"]}]}
    w = _worker(tmp_path, spec)
    _run_here(w.inits[0], tmp_path)  # i1 and app have never started: due "at 0"
    w._last_volume_sync = time.monotonic()
    assert w._next_wait(init_done=False) > 1.0


def test_a_restart_in_backoff_is_due_at_its_time(tmp_path: Path) -> None:
    w = _worker(tmp_path, {"containers": [{"name": "app", "command": ["x"]}]})
    w.mains[0].record.next_start_at = time.time() + 1.2
    wait = w._next_wait(init_done=True)
    assert 1.0 < wait <= 1.2
    assert w._full_at - time.monotonic() == pytest.approx(wait, abs=0.05)


def test_nothing_left_to_run_sleeps_long(tmp_path: Path) -> None:
    w = _worker(tmp_path, {"containers": [{"name": "app", "command": ["x"]}]})
    w.mains[0].record.terminated = {"exitCode": 0}
    assert w._next_wait(init_done=True) == podworker.TERMINAL_WAIT

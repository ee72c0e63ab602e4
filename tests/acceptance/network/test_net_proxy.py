"""ClusterIP proxy over real sockets, with real member processes behind it."""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from petset.api.settings import Settings
from petset.node.proxy import ServiceProxy
from petset.runtime.memory import MemoryCluster

from .netfixtures import (
    eventually,
    free_port,
    pod,
    random_loopback,
    reconcile_all,
    service,
    set_ready,
    start_echo,
    stop,
    wait_listening,
)

pytestmark = pytest.mark.acceptance
LOG = logging.getLogger("test.proxy")


@dataclass
class Setup:
    cluster: MemoryCluster
    settings: Settings
    proxy: ServiceProxy
    cluster_ip: str


@pytest.fixture(params=["asyncio", "uvloop"])
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    base = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"
    settings = Settings(home=tmp_path, service_cidr=f"{base}.0/24")
    cluster = MemoryCluster()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(3):  # each member on its own IP and port, as pods with named ports
            ip = random_loopback()
            port = free_port(ip)
            procs.append(start_echo(ip, port, f"mysql-{i}"))
            cluster.create(pod(f"mysql-{i}", ip, ready=i != 2, port=port))
        for p in cluster.list("Pod"):  # the three start in parallel
            port = p["spec"]["containers"][0]["ports"][0]["containerPort"]
            wait_listening(p["status"]["podIP"], port)
        cluster.create(service("mysql", headless=False, port=3306))
        reconcile_all(cluster, settings)
        proxy = ServiceProxy(settings, cluster, logger=LOG, event_loop=request.param)
        proxy.start()
        try:
            ip = cluster.get("Service", "mysql", "db")["spec"]["clusterIP"]
            yield Setup(cluster, settings, proxy, ip)
        finally:
            proxy.stop()
    finally:
        for proc in procs:
            stop(proc)


def connect(s: Setup) -> tuple[socket.socket, str]:
    """A connection through the proxy and the name of the member behind it."""
    conn = socket.create_connection((s.cluster_ip, 3306), timeout=2)
    name = conn.makefile("rb").readline().decode().strip()
    return conn, name


def members_seen(s: Setup, n: int = 12) -> set[str]:
    seen = set()
    for _ in range(n):
        conn, name = connect(s)
        conn.close()
        seen.add(name)
    return seen


def test_forwards_to_ready_endpoints_only_and_round_robin(setup: Setup) -> None:
    assert setup.proxy.listening() == {(setup.cluster_ip, 3306)}
    assert members_seen(setup) == {"mysql-0", "mysql-1"}
    # The client speaks first, before the proxy has reached a backend (as Redis clients do).
    with socket.create_connection((setup.cluster_ip, 3306), timeout=2) as early:
        early.sendall(b"hello\n")
        reader = early.makefile("rb")
        assert reader.readline().startswith(b"mysql-")
        assert reader.readline() == b"hello\n"
    conn, _ = connect(setup)
    with conn:
        payload = bytes(range(256)) * 4096  # 1 MiB both ways
        conn.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += conn.recv(1 << 20)
        assert got == payload


def test_follows_readiness_within_a_second_and_closes_removed(setup: Setup) -> None:
    kept = []
    while True:
        conn, name = connect(setup)
        if name == "mysql-0":
            break
        kept.append(conn)
    set_ready(setup.cluster, "mysql-2", True)
    set_ready(setup.cluster, "mysql-0", False)
    reconcile_all(setup.cluster, setup.settings)
    eventually(lambda: members_seen(setup, 6) == {"mysql-1", "mysql-2"}, timeout=5.0)
    conn.settimeout(1.0)
    with contextlib.suppress(ConnectionResetError):  # aborted: a reset or an EOF
        assert conn.recv(10) == b""
    conn.close()
    for other in kept:  # connections to mysql-1 stay up
        other.sendall(b"ping")
        assert other.recv(10) == b"ping"
        other.close()


def test_service_deleted_stops_listening(setup: Setup) -> None:
    setup.cluster.delete("Service", "mysql", "db")
    eventually(lambda: setup.proxy.listening() == set(), timeout=5.0)
    with pytest.raises(OSError):
        socket.create_connection((setup.cluster_ip, 3306), timeout=1).close()

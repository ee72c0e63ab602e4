"""Kernel proxy: nftables DNAT for a ClusterIP Service, with real HTTP servers behind it."""

from __future__ import annotations

import http.client
import logging
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from petset.api.settings import Settings
from petset.node.kernelproxy import KernelProxy, nft_works, remove_table, table_name
from petset.runtime.memory import MemoryCluster

from .netfixtures import (
    eventually,
    free_port,
    pod,
    random_loopback,
    reconcile_all,
    service,
    set_ready,
    stop,
    wait_listening,
)

pytestmark = pytest.mark.acceptance
LOG = logging.getLogger("test.kernelproxy")
_PROBLEM = nft_works()
if _PROBLEM is not None:
    pytestmark = [pytestmark, pytest.mark.skip(reason=f"kernel proxy needs nftables: {_PROBLEM}")]


@dataclass
class Setup:
    cluster: MemoryCluster
    settings: Settings
    proxy: KernelProxy
    cluster_ip: str


def http_server(ip: str, port: int, name: str, root: Path) -> subprocess.Popen[bytes]:
    """A real HTTP/1.1 server (keep-alive) whose /name says which member it is."""
    root.mkdir()
    (root / "name").write_text(name)
    cmd = [sys.executable, "-m", "http.server", "-p", "HTTP/1.1", "-b", ip, "-d", str(root)]
    out = subprocess.DEVNULL
    return subprocess.Popen([*cmd, str(port)], stdout=out, stderr=out)


def settings_for(home: Path) -> Settings:
    base = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"
    return Settings(home=home, service_cidr=f"{base}.0/24")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    settings = settings_for(tmp_path / "home")
    settings.home.mkdir()
    cluster = MemoryCluster()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(2):
            ip = random_loopback()
            port = free_port(ip)
            procs.append(http_server(ip, port, f"web-{i}", tmp_path / f"web-{i}"))
            cluster.create(pod(f"web-{i}", ip, ready=i == 0, port=port))
        for p in cluster.list("Pod"):
            wait_listening(
                p["status"]["podIP"], p["spec"]["containers"][0]["ports"][0]["containerPort"]
            )
        cluster.create(service("web", headless=False, port=80))
        reconcile_all(cluster, settings)
        proxy = KernelProxy(settings, cluster, logger=LOG)
        proxy.start()
        try:
            ip = cluster.get("Service", "web", "db")["spec"]["clusterIP"]
            yield Setup(cluster, settings, proxy, ip)
        finally:
            proxy.stop()
            remove_table(settings.home)
    finally:
        for proc in procs:
            stop(proc)


def ask(conn: http.client.HTTPConnection) -> str:
    conn.request("GET", "/name")
    return conn.getresponse().read().decode()


def closed(conn: http.client.HTTPConnection) -> bool:
    try:
        ask(conn)
    except (ConnectionError, http.client.HTTPException):
        return True
    return False


def members_seen(s: Setup, n: int = 12) -> set[str]:
    seen = set()
    for _ in range(n):
        conn = http.client.HTTPConnection(s.cluster_ip, 80, timeout=2)
        seen.add(ask(conn))
        conn.close()
    return seen


def table_exists(home: Path) -> bool:
    listing = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return f"table ip {table_name(home)}" in listing.splitlines()


def test_ready_endpoints_only_following_readiness_within_a_second(setup: Setup) -> None:
    assert members_seen(setup) == {"web-0"}
    set_ready(setup.cluster, "web-1", True)
    reconcile_all(setup.cluster, setup.settings)
    eventually(lambda: members_seen(setup, 20) == {"web-0", "web-1"}, timeout=5.0)
    # Keep-alive connections, one on each member.
    kept: dict[str, http.client.HTTPConnection] = {}
    while len(kept) < 2:
        conn = http.client.HTTPConnection(setup.cluster_ip, 80, timeout=2)
        kept.setdefault(ask(conn), conn)
    set_ready(setup.cluster, "web-0", False)
    reconcile_all(setup.cluster, setup.settings)
    eventually(lambda: members_seen(setup, 8) == {"web-1"}, timeout=5.0)
    # The connection to the member that left is closed (kernel conntrack would keep
    # it), right after the rules change.
    eventually(lambda: closed(kept["web-0"]), timeout=5.0)
    assert ask(kept["web-1"]) == "web-1"  # the other one stays up
    for conn in kept.values():
        conn.close()


def test_no_ready_endpoint_refuses_at_once(setup: Setup) -> None:
    set_ready(setup.cluster, "web-0", False)
    reconcile_all(setup.cluster, setup.settings)

    def refused() -> bool:
        try:
            members_seen(setup, 1)
        except ConnectionRefusedError:
            return True
        except TimeoutError:  # the table was being swapped: ask again
            return False
        except (ConnectionAbortedError, ConnectionResetError, http.client.RemoteDisconnected):
            # connected just before the rule changed, then closed as a connection to
            # a removed backend (that runs off the proxy's sync loop): ask again
            return False
        return False

    # Within a second on an idle machine; CI runs four suites at once on 2 cores.
    eventually(refused, timeout=5.0)


def test_rules_outlive_stop_and_start_is_idempotent(setup: Setup) -> None:
    setup.proxy.stop()
    assert members_seen(setup, 3) == {"web-0"}  # pods keep serving with no daemon
    again = KernelProxy(setup.settings, setup.cluster, logger=LOG)
    again.start()
    try:
        assert again.routes() == setup.proxy.routes()
        assert members_seen(setup, 3) == {"web-0"}
        setup.cluster.delete("Service", "web", "db")  # no Service left: no table
        eventually(lambda: not table_exists(setup.settings.home), timeout=5.0)
    finally:
        again.stop()


def test_daemons_never_touch_each_others_rules(setup: Setup, tmp_path: Path) -> None:
    other_settings = settings_for(tmp_path / "other")
    other_settings.home.mkdir()
    other_cluster = MemoryCluster()
    other = KernelProxy(other_settings, other_cluster, logger=LOG)
    other.start()
    try:
        # The other daemon's (empty) state removes only its own table, never this one.
        assert table_name(other_settings.home) != table_name(setup.settings.home)
        assert not table_exists(other_settings.home)
        assert table_exists(setup.settings.home)
        ip = random_loopback()
        other_cluster.create(pod("web-0", ip, port=free_port(ip)))
        other_cluster.create(service("web", headless=False, port=80))
        reconcile_all(other_cluster, other_settings)
        eventually(lambda: table_exists(other_settings.home), timeout=5.0)
        assert members_seen(setup, 4) == {"web-0"}
    finally:
        other.stop()
        remove_table(other_settings.home)
    assert table_exists(setup.settings.home)
    assert members_seen(setup, 2) == {"web-0"}


def test_a_table_whose_state_directory_vanished_is_removed(setup: Setup, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    cluster = MemoryCluster()
    ip = random_loopback()
    cluster.create(pod("web-0", ip, port=free_port(ip)))
    cluster.create(service("web", headless=False, port=80))
    reconcile_all(cluster, setup.settings)
    orphan = KernelProxy(Settings(home=gone), cluster, logger=LOG)
    orphan.start()
    orphan.stop()
    try:
        assert table_exists(gone)
        gone.rmdir()  # a test's temporary home removed while its rules stayed
        again = KernelProxy(setup.settings, setup.cluster, logger=LOG)
        again.start()
        again.stop()
        assert not table_exists(gone)
        assert table_exists(setup.settings.home)  # a live home's table stays
    finally:
        remove_table(gone)

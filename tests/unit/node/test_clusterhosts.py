"""Cluster names as hosts-file lines: every name a pod's search list turns into an A record."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from petset.api.settings import Settings
from petset.node.clusterhosts import ClusterHosts, cluster_host_entries, search_names
from petset.node.dnsrecords import Zone, build_zone
from petset.node.netfiles import hosts_file

D = "cluster.local"


def test_search_names_follow_the_pods_search_list() -> None:
    fqdn = f"web-0.web.default.svc.{D}"
    assert search_names(fqdn, "default", D) == [
        fqdn,
        "web-0.web.default.svc",
        "web-0.web.default",
        "web-0.web",
    ]
    # Another namespace's names need at least `<svc>.<ns>`, as with the DNS search list.
    assert search_names(fqdn, "other", D) == [fqdn, "web-0.web.default.svc", "web-0.web.default"]


def test_entries_cover_headless_members_and_cluster_ips_not_pod_ip_names() -> None:
    services = [
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": "None"},
        },
        {
            "metadata": {"name": "rw", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.7", "ports": [{"name": "sql", "port": 3306}]},
        },
    ]
    endpoints = [
        {
            "metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "127.10.0.2", "hostname": "web-0"}]}],
        }
    ]
    pods = [
        {"metadata": {"name": "web-0", "namespace": "default"}, "status": {"podIP": "127.10.0.2"}}
    ]
    entries = dict(
        (names[-1], ip)
        for ip, names in cluster_host_entries(build_zone(D, services, endpoints, pods), "default")
    )
    assert entries == {"web-0.web": "127.10.0.2", "web": "127.10.0.2", "rw": "10.96.0.7"}


def test_hosts_file_lists_the_pods_own_name_first_then_the_cluster(tmp_path: Path) -> None:
    pod = {
        "metadata": {"name": "web-0", "namespace": "default"},
        "spec": {"hostname": "web-0", "subdomain": "web"},
        "status": {"podIP": "127.10.0.2"},
    }
    text = hosts_file(
        pod, Settings(home=tmp_path).cluster_domain, extra=[("127.10.0.3", ["a", "b"])]
    )
    lines = text.splitlines()
    assert lines.index(f"127.10.0.2\tweb-0.web.default.svc.{D}\tweb-0") < lines.index(
        "127.10.0.3\ta\tb"
    )


class FakeDNS:
    """The ClusterDNS surface ClusterHosts follows: a zone that changes on demand."""

    bound_port = 5353  # not 53: pods need the cluster names in their hosts file

    def __init__(self) -> None:
        self.listeners: list[Callable[[], None]] = []
        self.current = build_zone(D, [], [], [])
        self.zone_calls = 0

    def on_change(self, fn: Callable[[], None]) -> None:
        self.listeners.append(fn)

    def zone(self) -> Zone:
        self.zone_calls += 1
        return self.current

    def change(self) -> None:
        self.current = build_zone(D, [], [], [])
        for fn in self.listeners:
            fn()


def test_hosts_files_are_rewritten_on_a_zone_change_and_nothing_runs_between(
    tmp_path: Path,
) -> None:
    dns = FakeDNS()
    refreshed = threading.Semaphore(0)

    class Counting(ClusterHosts):
        def refresh(self) -> int:
            refreshed.release()
            return 0

    hosts = Counting(Settings(home=tmp_path), dns, logger=logging.getLogger("t"))  # type: ignore[arg-type]
    hosts.start()
    try:
        assert refreshed.acquire(timeout=2)  # the first pass
        calls = dns.zone_calls
        time.sleep(0.6)
        assert dns.zone_calls == calls  # idle: no polling of the zone
        dns.change()
        dns.change()  # a burst: one pass
        assert refreshed.acquire(timeout=2)
        assert not refreshed.acquire(timeout=0.5)
    finally:
        t = time.monotonic()
        hosts.stop()
        assert time.monotonic() - t < 1

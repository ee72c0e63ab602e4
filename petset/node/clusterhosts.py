"""Cluster names in each pod's /etc/hosts, for when pods cannot reach the cluster DNS.

resolv.conf cannot name a port, so a pod's libc resolver asks port 53. An
unprivileged daemon cannot bind it (nor can a user namespace that does not own
the host's network namespace, and pods must stay in that one to reach each
other's loopback IPs), so its DNS server listens on a high port that only host
tools can use. Then the node does what the kubelet does for a pod's own name,
for every cluster name: the pod's hosts file lists each A record of the zone
under every name the pod's search list (`<ns>.svc.<domain> svc.<domain>
<domain>`) would turn into it, and the file follows the zone as endpoints
change: it is replaced by rename, and the sandbox sees it through a symlink
into its bound `net` directory, so a lookup reads the old file or the new one,
never half of one. SRV and PTR answers still need the DNS server.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from petset.api.meta import Obj, name_of, namespace_of, uid_of
from petset.api.settings import Settings
from petset.node import netfiles
from petset.node.dns import ClusterDNS
from petset.node.dnsrecords import Zone
from petset.node.mounts import Mount
from petset.node.netfiles import HostEntries
from petset.node.sandbox import unprivileged

RESOLVER_PORT = 53
# After a change, wait this long for more before rewriting the hosts files: a
# burst of Pod and Endpoints changes costs one pass (was: a poll every 0.2 s).
COALESCE_SECONDS = 0.2


def unprivileged_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def search_names(fqdn: str, namespace: str, domain: str) -> list[str]:
    """Every name a pod of `namespace` can look up to reach `fqdn`, longest first."""
    names = [fqdn]
    for suffix in (f".{domain}", f".svc.{domain}", f".{namespace}.svc.{domain}"):
        if fqdn.endswith(suffix) and len(fqdn) > len(suffix):
            names.append(fqdn[: -len(suffix)])
    return names


def cluster_host_entries(zone: Zone, namespace: str) -> HostEntries:
    """The zone's service and member addresses as hosts-file lines for one namespace."""
    domain = zone.domain
    out: HostEntries = []
    for (name, rtype), records in sorted(zone.records.items()):
        if rtype != "A" or not name.endswith(f".svc.{domain}"):
            continue  # pod-IP names (a-b-c-d.ns.pod...) would only fill the file
        names = search_names(name, namespace, domain)
        out.extend((str(ip), names) for ip in records)
    return out


class ClusterHosts:
    """The node's NetworkFiles: resolv.conf and hosts as the kubelet writes them and,
    while pods cannot reach the DNS server (`needed`), the cluster's names in the
    hosts file, kept current by a thread that follows the DNS zone."""

    def __init__(self, settings: Settings, dns: ClusterDNS, *, logger: logging.Logger) -> None:
        self._settings = settings
        self._dns = dns
        self._log = logger
        self._stop = threading.Event()
        self._wake = threading.Event()  # set on a zone input change and on stop
        self._thread: threading.Thread | None = None
        dns.on_change(self._wake.set)

    @property
    def needed(self) -> bool:
        """True when the pods' resolver cannot reach the DNS server on port 53."""
        port = self._dns.bound_port
        if port is not None:
            return port != RESOLVER_PORT
        wanted = self._settings.dns_port  # not bound yet: what binding it will give
        return wanted != RESOLVER_PORT or (unprivileged() and wanted < unprivileged_port_start())

    def __call__(self, pod: Obj) -> list[Mount]:
        """The mounts for a container about to start (and its files, written now)."""
        s = self._settings
        if not self.needed:
            return netfiles.bound_files(
                netfiles.pod_network_files(s, pod, dns_address=s.dns_address)
            )
        files = netfiles.pod_network_files(
            s, pod, dns_address=s.dns_address, hosts=self.hosts_text(pod)
        )
        return netfiles.linked_files(files)

    def entries(self, namespace: str) -> HostEntries:
        if not self.needed:
            return []
        return cluster_host_entries(self._dns.zone(), namespace)

    def hosts_text(self, pod: Obj) -> str:
        extra = self.entries(namespace_of(pod) or "default")
        return netfiles.hosts_file(pod, self._settings.cluster_domain, extra=extra)

    # -- refresh ------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._wake.set()  # a first pass, for what the DNS cache holds already
        self._thread = threading.Thread(target=self._run, name="cluster-hosts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        last: Zone | None = None
        while True:
            self._wake.wait()
            if self._stop.wait(COALESCE_SECONDS):
                return
            self._wake.clear()
            try:
                zone = self._dns.zone() if self.needed else None
                if zone is not None and zone is not last:
                    self.refresh()
                    last = zone
            except Exception:  # keep refreshing: a pod dir may vanish mid-pass
                self._log.exception("refreshing pods' hosts files failed")

    def refresh(self) -> int:
        """Rewrite every running pod's hosts file whose content changed; returns how many."""
        pods = self._dns.pods()
        changed = 0
        for netdir in sorted(self._settings.pods_dir.glob("*/net")):
            pod = self._pod_of(netdir.parent, pods)
            if pod is not None and netfiles.replace_if_changed(
                netdir / "hosts", self.hosts_text(pod)
            ):
                changed += 1
        return changed

    @staticmethod
    def _pod_of(pod_dir: Path, pods: dict[tuple[str, str], Obj]) -> Obj | None:
        """The pod object for its directory: from the watch cache when it is the same
        uid (spec.hostname, subdomain, hostAliases), else what the node recorded."""
        try:
            meta = json.loads((pod_dir / "pod.json").read_text())
        except (OSError, ValueError):
            return None
        cached = pods.get((str(meta["namespace"]), str(meta["name"])))
        pod: Obj = (
            cached
            if cached is not None and uid_of(cached) == meta["uid"]
            else {
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                "spec": {},
            }
        )
        if meta.get("podIP") and not (pod.get("status") or {}).get("podIP"):
            pod = {**pod, "status": {**(pod.get("status") or {}), "podIP": meta["podIP"]}}
        return pod if name_of(pod) else None

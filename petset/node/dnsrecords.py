"""The cluster DNS zone as a pure function of Services, Endpoints and Pods.

Follows Kubernetes' DNS-based service discovery specification (kubernetes/dns
docs/specification.md, schema 1.1.0):
* `<svc>.<ns>.svc.<zone>` A: the clusterIP; for a headless Service, every
  ready endpoint address (Endpoints `addresses`; the Endpoints controller
  already puts not-ready pods there when publishNotReadyAddresses is set).
* `<hostname>.<svc>.<ns>.svc.<zone>` A, headless only: each ready endpoint, by
  its `hostname`, or by its dashed IP when it has none (as CoreDNS does). A pod
  whose spec.hostname/subdomain name a headless Service also gets that name
  while it is one of the Service's ready endpoints.
* `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV for named ports: the service
  name for a ClusterIP Service, one record per ready endpoint when headless.
* `<a-b-c-d>.<ns>.pod.<zone>` A for pod IPs; PTR for clusterIPs and named
  endpoints.
Every ancestor of a name exists (empty non-terminal), so only names that are
nowhere in the tree get NXDOMAIN.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from petset.api.meta import Obj, name_of, namespace_of

TTL = 5


@dataclass(frozen=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


RData = str | Srv  # A and PTR: the address or name; SRV: Srv


@dataclass
class Zone:
    domain: str
    # (lower-case name without trailing dot, "A" | "SRV" | "PTR") -> records
    records: dict[tuple[str, str], list[RData]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def add(self, name: str, rtype: str, data: RData) -> None:
        name = name.lower()
        bucket = self.records.setdefault((name, rtype), [])
        if data not in bucket:
            bucket.append(data)
        self.touch(name)

    def touch(self, name: str) -> None:
        """Make `name` and its ancestors exist (NOERROR/NODATA rather than NXDOMAIN)."""
        name = name.lower()
        while name and name not in self.names:
            self.names.add(name)
            name = name.partition(".")[2]

    def lookup(self, name: str, rtype: str) -> list[RData]:
        return self.records.get((name.lower().rstrip("."), rtype), [])

    def exists(self, name: str) -> bool:
        return name.lower().rstrip(".") in self.names

    def is_authoritative_for(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        return name == self.domain or name.endswith("." + self.domain) or self.exists(name)


def dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def _ready_addresses(endpoints: Obj | None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(address, ports of its subset) for every ready address."""
    out = []
    for subset in (endpoints or {}).get("subsets") or []:
        for addr in subset.get("addresses") or []:
            out.append((addr, subset.get("ports") or []))
    return out


def _named_ports(ports: Iterable[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [
        (p["name"], str(p.get("protocol", "TCP")).lower(), int(p["port"]))
        for p in ports
        if p.get("name")
    ]


def _cluster_ip_records(zone: Zone, service: Obj, base: str) -> None:
    spec = service.get("spec") or {}
    ip = spec["clusterIP"]
    zone.add(base, "A", ip)
    zone.add(reverse_name(ip), "PTR", base)
    for name, proto, port in _named_ports(spec.get("ports") or []):
        zone.add(f"_{name}._{proto}.{base}", "SRV", Srv(0, 100, port, base))


def _headless_records(zone: Zone, endpoints: Obj | None, base: str) -> None:
    ready = _ready_addresses(endpoints)
    weight = max(1, 100 // max(1, len(ready)))
    for addr, ports in ready:
        ip = addr["ip"]
        host = f"{addr.get('hostname') or dashed(ip)}.{base}"
        zone.add(base, "A", ip)
        zone.add(host, "A", ip)
        if addr.get("hostname"):
            zone.add(reverse_name(ip), "PTR", host)
        for name, proto, port in _named_ports(ports):
            zone.add(f"_{name}._{proto}.{base}", "SRV", Srv(0, weight, port, host))
    if not ready:
        zone.touch(base)  # the Service exists: NOERROR with no data, not NXDOMAIN


def _pod_records(
    zone: Zone, pods: Iterable[Obj], headless_ready: dict[tuple[str, str], set[str]]
) -> None:
    for pod in pods:
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            continue
        ns = namespace_of(pod)
        zone.add(f"{dashed(ip)}.{ns}.pod.{zone.domain}", "A", ip)
        spec = pod.get("spec") or {}
        hostname, subdomain = spec.get("hostname"), spec.get("subdomain")
        if hostname and subdomain and ip in headless_ready.get((ns, subdomain), set()):
            zone.add(f"{hostname}.{subdomain}.{ns}.svc.{zone.domain}", "A", ip)


def build_zone(
    domain: str,
    services: Iterable[Obj],
    endpoints: Iterable[Obj],
    pods: Iterable[Obj],
) -> Zone:
    """Every record the cluster DNS serves, from one snapshot of the three kinds."""
    domain = domain.lower().rstrip(".")
    zone = Zone(domain)
    zone.touch(domain)
    by_key = {(namespace_of(e), name_of(e)): e for e in endpoints}
    headless_ready: dict[tuple[str, str], set[str]] = {}
    for svc in services:
        ns, name = namespace_of(svc), name_of(svc)
        base = f"{name}.{ns}.svc.{domain}"
        spec = svc.get("spec") or {}
        cluster_ip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName":
            zone.touch(base)
        elif cluster_ip == "None":
            ep = by_key.get((ns, name))
            _headless_records(zone, ep, base)
            headless_ready[(ns, name)] = {a["ip"] for a, _ in _ready_addresses(ep)}
        elif cluster_ip:
            _cluster_ip_records(zone, svc, base)
    _pod_records(zone, pods, headless_ready)
    return zone

"""Services: ClusterIP allocation and the Endpoints object of every selector Service.

Kubernetes splits this between the API server (clusterIP allocation) and the
endpoints controller; locally one controller does both. The decisions are pure
functions of a snapshot (`allocate_cluster_ip`, `cluster_ip_problem`,
`compute_subsets`); `reconcile` observes, decides, writes at most one Service
spec and one Endpoints object, and returns a sentence.

Endpoints follow Kubernetes' endpoints controller: pods without an IP, finished
pods and (unless publishNotReadyAddresses) pods being deleted are left out;
ready pods go to `addresses`, the rest to `notReadyAddresses`; an address has a
`hostname` only when the pod's spec.subdomain names this Service (that is what
gives StatefulSet members `<pod>.<service>` DNS names); pods are grouped into
subsets by their resolved port list.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any

from petset.api.errors import NotFoundError
from petset.api.meta import (
    Obj,
    ObjectKey,
    is_being_deleted,
    labels_of,
    name_of,
    namespace_of,
    owner_reference,
    uid_of,
)
from petset.api.selectors import Requirement, Selector
from petset.api.settings import Settings
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Reconcile, Result

HEADLESS = "None"


# -- ClusterIP ---------------------------------------------------------------
def is_headless(service: Obj) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == HEADLESS


def wants_cluster_ip(service: Obj) -> bool:
    """Every type but ExternalName gets a virtual IP unless it is headless."""
    spec = service.get("spec") or {}
    return spec.get("type", "ClusterIP") != "ExternalName" and not is_headless(service)


def _age_key(service: Obj) -> tuple[str, str, str]:
    md = service.get("metadata") or {}
    return (str(md.get("creationTimestamp", "")), namespace_of(service), name_of(service))


def ips_in_use(services: Iterable[Obj], *, exclude: Obj | None = None) -> dict[str, Obj]:
    """clusterIP -> the oldest Service holding it (the rightful owner of a clash)."""
    skip = ObjectKey.of(exclude) if exclude is not None else None
    owners: dict[str, Obj] = {}
    for svc in sorted(services, key=_age_key):
        ip = (svc.get("spec") or {}).get("clusterIP")
        if not ip or ip == HEADLESS or ObjectKey.of(svc) == skip:
            continue
        owners.setdefault(ip, svc)
    return owners


def allocate_cluster_ip(service: Obj, cidr: str, used: Iterable[str]) -> str | None:
    """A free address of `cidr`, or None when the range is full.

    The search starts at a hash of namespace/name so that a Service deleted and
    created again usually gets its old address back; then it probes upwards.
    """
    net = ipaddress.ip_network(cidr, strict=False)
    taken = set(used)
    first, size = int(net.network_address) + 1, max(net.num_addresses - 2, 1)
    digest = hashlib.sha256(f"{namespace_of(service)}/{name_of(service)}".encode()).digest()
    start = int.from_bytes(digest[:8], "big") % size
    for i in range(size):
        ip = str(ipaddress.ip_address(first + (start + i) % size))
        if ip not in taken:
            return ip
    return None


def cluster_ip_problem(service: Obj, cidr: str, owners: dict[str, Obj]) -> str | None:
    """Why a user-given clusterIP cannot be served, or None when it is fine."""
    ip = (service.get("spec") or {}).get("clusterIP")
    if not ip or ip == HEADLESS:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return f"spec.clusterIP {ip!r} is not an IP address; remove it to get one allocated"
    if addr not in ipaddress.ip_network(cidr, strict=False):
        return (
            f"spec.clusterIP {ip} is outside the service range {cidr}; "
            "remove it to get one allocated"
        )
    owner = owners.get(ip)
    if owner is not None and ObjectKey.of(owner) != ObjectKey.of(service):
        return (
            f"spec.clusterIP {ip} is already used by Service "
            f"{namespace_of(owner)}/{name_of(owner)}; remove it to get a free one"
        )
    return None


# -- Endpoints ---------------------------------------------------------------
def service_selector(service: Obj) -> Selector | None:
    """The Service's equality selector; None when it has none (user-managed Endpoints)."""
    sel = (service.get("spec") or {}).get("selector") or {}
    if not sel:
        return None
    return Selector(tuple(Requirement(k, "In", (str(v),)) for k, v in sorted(sel.items())))


def is_pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _belongs_in_endpoints(pod: Obj, publish_not_ready: bool) -> bool:
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    return publish_not_ready or not is_being_deleted(pod)


def resolve_target_port(service_port: dict[str, Any], pod: Obj) -> int | None:
    """The pod port a service port sends to: a number, or the pod's named containerPort."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cport in container.get("ports") or []:
            if cport.get("name") == target and cport.get("protocol", "TCP") == protocol:
                return int(cport["containerPort"])
    return None


def _endpoint_ports(service: Obj, pod: Obj) -> tuple[tuple[str, int, str, str], ...] | None:
    """(name, port, protocol, appProtocol) per service port; None if any cannot resolve."""
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        port = resolve_target_port(sp, pod)
        if port is None:
            return None
        out.append((sp.get("name", ""), port, sp.get("protocol", "TCP"), sp.get("appProtocol", "")))
    return tuple(out)


def _address(service: Obj, pod: Obj) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    addr: dict[str, Any] = {"ip": pod["status"]["podIP"]}
    if spec.get("hostname") and spec.get("subdomain") == name_of(service):
        addr["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    addr["targetRef"] = {
        "kind": "Pod",
        "namespace": namespace_of(pod),
        "name": name_of(pod),
        "uid": uid_of(pod),
    }
    return addr


def _port_dict(p: tuple[str, int, str, str]) -> dict[str, Any]:
    d: dict[str, Any] = {"port": p[1], "protocol": p[2]}
    if p[0]:
        d["name"] = p[0]
    if p[3]:
        d["appProtocol"] = p[3]
    return d


def compute_subsets(service: Obj, pods: Iterable[Obj]) -> list[dict[str, Any]]:
    """The Endpoints subsets for `service` given the pods of its namespace."""
    selector = service_selector(service)
    if selector is None:
        return []
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str, str], ...], dict[str, list[dict[str, Any]]]] = {}
    for pod in pods:
        if namespace_of(pod) != namespace_of(service) or not selector.matches(labels_of(pod)):
            continue
        if not _belongs_in_endpoints(pod, publish):
            continue
        ports = _endpoint_ports(service, pod)
        if ports is None:
            continue
        group = groups.setdefault(ports, {"addresses": [], "notReadyAddresses": []})
        ready = publish or (is_pod_ready(pod) and not is_being_deleted(pod))
        group["addresses" if ready else "notReadyAddresses"].append(_address(service, pod))
    subsets = []
    for ports, group in sorted(groups.items()):
        subset: dict[str, Any] = {}
        for field in ("addresses", "notReadyAddresses"):
            if group[field]:
                subset[field] = sorted(group[field], key=lambda a: ipaddress.ip_address(a["ip"]))
        if ports:
            subset["ports"] = [_port_dict(p) for p in ports]
        subsets.append(subset)
    return subsets


def desired_endpoints(service: Obj, subsets: list[dict[str, Any]]) -> Obj:
    md: dict[str, Any] = {
        "name": name_of(service),
        "namespace": namespace_of(service),
        "ownerReferences": [owner_reference(service)],
    }
    labels = labels_of(service)
    if is_headless(service):
        labels["service.kubernetes.io/headless"] = ""
    if labels:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": md, "subsets": subsets}


def endpoints_differ(current: Obj, desired: Obj) -> bool:
    cur_md, want_md = current.get("metadata") or {}, desired["metadata"]
    return (
        (current.get("subsets") or []) != desired["subsets"]
        or (cur_md.get("labels") or {}) != (want_md.get("labels") or {})
        or (cur_md.get("ownerReferences") or []) != want_md["ownerReferences"]
    )


# -- reconcile ---------------------------------------------------------------
def _ensure_cluster_ip(cluster: Cluster, settings: Settings, service: Obj) -> tuple[Obj, str]:
    """Allocate or check the clusterIP; returns the (maybe updated) Service and a note."""
    if not wants_cluster_ip(service):
        return service, ""
    others = cluster.list("Service")
    spec = service.get("spec") or {}
    if spec.get("clusterIP"):
        problem = cluster_ip_problem(service, settings.service_cidr, ips_in_use(others))
        if problem:
            cluster.record_event(
                service, type="Warning", reason="ClusterIPNotAllocated", message=problem
            )
            return service, f"clusterIP not served: {problem}"
        return service, ""
    used = ips_in_use(others, exclude=service)
    ip = allocate_cluster_ip(service, settings.service_cidr, used)
    if ip is None:
        message = f"service range {settings.service_cidr} is full; widen PETSET_SERVICE_CIDR"
        cluster.record_event(
            service, type="Warning", reason="ClusterIPNotAllocated", message=message
        )
        return service, message
    patch = {"metadata": {"resourceVersion": service["metadata"]["resourceVersion"]}}
    patch["spec"] = {"clusterIP": ip, "clusterIPs": [ip]}
    service = cluster.patch("Service", name_of(service), namespace_of(service), patch)
    cluster.record_event(
        service, type="Normal", reason="ClusterIPAllocated", message=f"allocated {ip}"
    )
    return service, f"allocated clusterIP {ip}"


def _sync_endpoints(cluster: Cluster, service: Obj) -> str:
    ns, name = namespace_of(service), name_of(service)
    if service_selector(service) is None:
        return "no selector: Endpoints are managed by the user"
    subsets = compute_subsets(service, cluster.list("Pod", ns))
    want = desired_endpoints(service, subsets)
    ready = sum(len(s.get("addresses", [])) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses", [])) for s in subsets)
    summary = f"{ready} ready, {not_ready} not ready"
    try:
        current = cluster.get("Endpoints", name, ns)
    except NotFoundError:
        cluster.create(want)
        return f"created Endpoints ({summary})"
    if not endpoints_differ(current, want):
        return f"Endpoints up to date ({summary})"
    current = dict(current)
    current["metadata"] = {**current["metadata"], **want["metadata"]}
    current["subsets"] = subsets
    cluster.update(current)
    return f"updated Endpoints ({summary})"


def make_reconcile(settings: Settings) -> Reconcile:
    def reconcile(cluster: Cluster, key: ObjectKey) -> Result:
        try:
            service = cluster.get("Service", key.name, key.namespace)
        except NotFoundError:
            return Result("Service is gone; its Endpoints go with it")
        if is_being_deleted(service):
            return Result("Service is being deleted")
        service, ip_note = _ensure_cluster_ip(cluster, settings, service)
        ep_note = _sync_endpoints(cluster, service)
        return Result("; ".join(n for n in (ip_note, ep_note) if n))

    return reconcile


def services_for_pod(cluster: Cluster, pod: Obj) -> list[ObjectKey]:
    """Services that select the pod now, or list it in their Endpoints (it may have left)."""
    ns = namespace_of(pod)
    keys: set[ObjectKey] = set()
    for svc in cluster.list("Service", ns):
        sel = service_selector(svc)
        if sel is not None and sel.matches(labels_of(pod)):
            keys.add(ObjectKey("Service", ns, name_of(svc)))
    for ep in cluster.list("Endpoints", ns):
        for subset in ep.get("subsets") or []:
            for addr in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                if (addr.get("targetRef") or {}).get("name") == name_of(pod):
                    keys.add(ObjectKey("Service", ns, name_of(ep)))
    return sorted(keys)


def controller(settings: Settings) -> Controller:
    return Controller(
        name="services",
        kind="Service",
        reconcile=make_reconcile(settings),
        owns=("Endpoints",),
        watches=(("Pod", services_for_pod),),
        resync_seconds=60.0,
    )

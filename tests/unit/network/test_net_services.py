"""Services controller: Endpoints from pods and ClusterIP allocation, against MemoryCluster."""

from __future__ import annotations

import ipaddress
from typing import Any

from petset.api.meta import ObjectKey
from petset.api.settings import Settings
from petset.controllers.services import (
    allocate_cluster_ip,
    compute_subsets,
    controller,
    services_for_pod,
)
from petset.runtime.memory import MemoryCluster

SETTINGS = Settings(service_cidr="127.20.0.0/24")


def pod(
    name: str,
    ip: str | None,
    *,
    ready: bool = True,
    labels: dict[str, str] | None = None,
    hostname: str | None = None,
    subdomain: str | None = None,
    ports: list[dict[str, Any]] | None = None,
    deleting: bool = False,
    phase: str = "Running",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x", "ports": ports or []}]}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if ip:
        status["podIP"] = ip
    md: dict[str, Any] = {"name": name, "namespace": "db", "labels": labels or {"app": "mysql"}}
    md["uid"] = f"uid-{name}"
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def service(name: str = "mysql", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"app": "mysql"}}
    body["ports"] = [{"name": "mysql", "port": 3306}]
    body.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "db", "uid": f"uid-{name}"},
        "spec": body,
    }


def ips(subsets: list[dict[str, Any]], field: str) -> list[str]:
    return [a["ip"] for s in subsets for a in s.get(field, [])]


def test_ready_and_not_ready_pods_split_and_sorted_by_ip() -> None:
    pods = [
        pod("mysql-1", "127.10.0.10", ready=False),
        pod("mysql-0", "127.10.0.9"),
        pod("mysql-2", "127.10.0.2"),
        pod("other", "127.10.0.3", labels={"app": "web"}),
        pod("pending", None),
        pod("done", "127.10.0.4", phase="Succeeded"),
    ]
    subsets = compute_subsets(service(), pods)
    assert ips(subsets, "addresses") == ["127.10.0.2", "127.10.0.9"]
    assert ips(subsets, "notReadyAddresses") == ["127.10.0.10"]
    assert subsets[0]["ports"] == [{"name": "mysql", "port": 3306, "protocol": "TCP"}]
    ref = subsets[0]["addresses"][0]["targetRef"]
    assert ref == {"kind": "Pod", "namespace": "db", "name": "mysql-2", "uid": "uid-mysql-2"}


def test_publish_not_ready_addresses_puts_every_pod_in_addresses() -> None:
    pods = [pod("mysql-0", "127.10.0.1", ready=False), pod("mysql-1", "127.10.0.2", deleting=True)]
    subsets = compute_subsets(service(publishNotReadyAddresses=True), pods)
    assert ips(subsets, "addresses") == ["127.10.0.1", "127.10.0.2"]
    assert ips(subsets, "notReadyAddresses") == []


def test_pods_being_deleted_receive_no_traffic() -> None:
    subsets = compute_subsets(service(), [pod("mysql-0", "127.10.0.1", deleting=True)])
    assert ips(subsets, "addresses") == []


def test_named_target_port_resolves_per_pod_and_groups_subsets() -> None:
    svc = service(ports=[{"name": "sql", "port": 3306, "targetPort": "mysql"}])
    pods = [
        pod("a", "127.10.0.1", ports=[{"name": "mysql", "containerPort": 3307}]),
        pod("b", "127.10.0.2", ports=[{"name": "mysql", "containerPort": 3308}]),
        pod("c", "127.10.0.3", ports=[{"name": "other", "containerPort": 1}]),
    ]
    subsets = compute_subsets(svc, pods)
    assert [(ips([s], "addresses"), s["ports"][0]["port"]) for s in subsets] == [
        (["127.10.0.1"], 3307),
        (["127.10.0.2"], 3308),
    ]
    assert all(s["ports"][0]["name"] == "sql" for s in subsets)


def test_numeric_target_port_and_hostname_only_for_matching_subdomain() -> None:
    svc = service(clusterIP="None", ports=[{"name": "sql", "port": 3306, "targetPort": 3307}])
    pods = [
        pod("mysql-0", "127.10.0.1", hostname="mysql-0", subdomain="mysql"),
        pod("x", "127.10.0.2", hostname="x", subdomain="elsewhere"),
    ]
    subsets = compute_subsets(svc, pods)
    assert subsets[0]["ports"][0]["port"] == 3307
    assert [a.get("hostname") for a in subsets[0]["addresses"]] == ["mysql-0", None]


def test_no_selector_means_no_managed_endpoints() -> None:
    assert compute_subsets(service(selector={}), [pod("a", "127.10.0.1")]) == []


def test_allocation_skips_used_and_is_stable_per_name() -> None:
    svc = service()
    first = allocate_cluster_ip(svc, "127.20.0.0/24", [])
    assert first is not None
    assert ipaddress.ip_address(first) in ipaddress.ip_network("127.20.0.0/24")
    assert allocate_cluster_ip(svc, "127.20.0.0/24", []) == first
    second = allocate_cluster_ip(svc, "127.20.0.0/24", [first])
    assert second not in (None, first)
    full = [f"127.20.0.{i}" for i in range(1, 3)]
    assert allocate_cluster_ip(svc, "127.20.0.0/30", full) is None


def reconcile(cluster: MemoryCluster, name: str) -> str:
    return controller(SETTINGS).reconcile(cluster, ObjectKey("Service", "db", name)).message


def test_reconcile_allocates_distinct_ips_and_writes_endpoints_once() -> None:
    cluster = MemoryCluster()
    cluster.create(pod("mysql-0", "127.10.0.1"))
    for name in ("a", "b", "c"):
        cluster.create(service(name))
    for name in ("a", "b", "c"):
        assert "allocated clusterIP" in reconcile(cluster, name)
    got = [cluster.get("Service", n, "db")["spec"] for n in ("a", "b", "c")]
    assert len({s["clusterIP"] for s in got}) == 3
    assert all(s["clusterIPs"] == [s["clusterIP"]] for s in got)
    ep = cluster.get("Endpoints", "a", "db")
    assert ep["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert ips(ep["subsets"], "addresses") == ["127.10.0.1"]
    rv = ep["metadata"]["resourceVersion"]
    assert "up to date" in reconcile(cluster, "a")
    assert cluster.get("Endpoints", "a", "db")["metadata"]["resourceVersion"] == rv


def test_readiness_change_updates_endpoints_and_pod_maps_to_service() -> None:
    cluster = MemoryCluster()
    p = cluster.create(pod("mysql-0", "127.10.0.1"))
    cluster.create(service(clusterIP="None"))
    reconcile(cluster, "mysql")
    assert services_for_pod(cluster, p) == [ObjectKey("Service", "db", "mysql")]
    p["status"]["conditions"][0]["status"] = "False"
    cluster.update_status(p)
    assert "updated Endpoints (0 ready, 1 not ready)" in reconcile(cluster, "mysql")
    # A pod relabelled away still maps to the Service that lists it.
    p = cluster.get("Pod", "mysql-0", "db")
    p["metadata"]["labels"] = {"app": "gone"}
    p = cluster.update(p)
    assert services_for_pod(cluster, p) == [ObjectKey("Service", "db", "mysql")]
    assert "0 ready, 0 not ready" in reconcile(cluster, "mysql")
    assert cluster.get("Service", "mysql", "db")["spec"]["clusterIP"] == "None"


def test_user_given_ip_in_use_or_outside_range_posts_warning() -> None:
    cluster = MemoryCluster()
    cluster.create(service("a", clusterIP="127.20.0.7"))
    cluster.create(service("b", clusterIP="127.20.0.7"))
    cluster.create(service("c", clusterIP="10.0.0.1"))
    assert "not served" not in reconcile(cluster, "a")
    assert "already used by Service db/a" in reconcile(cluster, "b")
    assert "outside the service range" in reconcile(cluster, "c")
    warnings = [e for e in cluster.events if e["type"] == "Warning"]
    assert {e["involvedObject"]["name"] for e in warnings} == {"b", "c"}

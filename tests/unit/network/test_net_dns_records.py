"""DNS records as a pure function of Services, Endpoints and Pods."""

from __future__ import annotations

from typing import Any

from dnslib import QTYPE, RCODE, DNSRecord

from petset.node.dns import answer
from petset.node.dnsrecords import Srv, build_zone
from petset.node.netfiles import hosts_file, resolv_conf

D = "cluster.local"


def svc(name: str, cluster_ip: str, *, publish: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "clusterIP": cluster_ip,
        "ports": [{"name": "mysql", "port": 3306}, {"port": 9}],
        "publishNotReadyAddresses": publish,
    }
    return {"kind": "Service", "metadata": {"name": name, "namespace": "db"}, "spec": spec}


def endpoints(
    name: str, ready: list[tuple[str, str | None]], not_ready: list[str]
) -> dict[str, Any]:
    subset: dict[str, Any] = {
        "addresses": [{"ip": ip, **({"hostname": h} if h else {})} for ip, h in ready],
        "notReadyAddresses": [{"ip": ip} for ip in not_ready],
        "ports": [{"name": "mysql", "port": 3307, "protocol": "TCP"}],
    }
    return {"kind": "Endpoints", "metadata": {"name": name, "namespace": "db"}, "subsets": [subset]}


def pod(name: str, ip: str, subdomain: str) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "db"},
        "spec": {"hostname": name, "subdomain": subdomain},
        "status": {"podIP": ip},
    }


def zone() -> Any:
    services = [svc("mysql", "None"), svc("rw", "127.20.0.5"), svc("empty", "None")]
    eps = [
        endpoints("mysql", [("127.10.0.1", "mysql-0"), ("127.10.0.2", None)], ["127.10.0.3"]),
        endpoints("rw", [("127.10.0.1", None)], []),
    ]
    pods = [pod("mysql-0", "127.10.0.1", "mysql"), pod("mysql-2", "127.10.0.3", "mysql")]
    return build_zone(D, services, eps, pods)


def test_cluster_ip_service_a_and_srv_point_at_the_service() -> None:
    z = zone()
    assert z.lookup("rw.db.svc.cluster.local.", "A") == ["127.20.0.5"]
    target = "rw.db.svc.cluster.local"
    assert z.lookup("_mysql._tcp.rw.db.svc.cluster.local", "SRV") == [Srv(0, 100, 3306, target)]
    assert z.lookup("5.0.20.127.in-addr.arpa", "PTR") == [target]


def test_headless_service_answers_ready_endpoints_only() -> None:
    z = zone()
    assert sorted(z.lookup("MySQL.db.svc.cluster.local", "A")) == ["127.10.0.1", "127.10.0.2"]
    assert z.lookup("mysql-0.mysql.db.svc.cluster.local", "A") == ["127.10.0.1"]
    assert z.lookup("127-10-0-2.mysql.db.svc.cluster.local", "A") == ["127.10.0.2"]
    # mysql-2 is not ready: its pod name does not resolve.
    assert not z.exists("mysql-2.mysql.db.svc.cluster.local")
    srv = z.lookup("_mysql._tcp.mysql.db.svc.cluster.local", "SRV")
    assert sorted(s.target for s in srv if isinstance(s, Srv)) == [
        "127-10-0-2.mysql.db.svc.cluster.local",
        "mysql-0.mysql.db.svc.cluster.local",
    ]
    assert {s.port for s in srv if isinstance(s, Srv)} == {3307}


def test_empty_headless_service_and_ancestors_exist_without_data() -> None:
    z = zone()
    assert z.exists("empty.db.svc.cluster.local")
    assert z.lookup("empty.db.svc.cluster.local", "A") == []
    assert z.exists("db.svc.cluster.local") and z.exists("cluster.local")
    assert not z.exists("nope.db.svc.cluster.local")


def test_pod_ip_names() -> None:
    assert zone().lookup("127-10-0-3.db.pod.cluster.local", "A") == ["127.10.0.3"]


def ask(name: str, qtype: str = "A") -> DNSRecord:
    return answer(zone(), DNSRecord.question(name, qtype))


def test_answer_codes() -> None:
    ok = ask("mysql-0.mysql.db.svc.cluster.local")
    assert ok.header.rcode == RCODE.NOERROR and [str(r.rdata) for r in ok.rr] == ["127.10.0.1"]
    assert ok.rr[0].ttl == 5
    nx = ask("ghost.db.svc.cluster.local")
    assert nx.header.rcode == RCODE.NXDOMAIN and nx.auth[0].rtype == QTYPE.SOA
    nodata = ask("rw.db.svc.cluster.local", "AAAA")
    assert nodata.header.rcode == RCODE.NOERROR and not nodata.rr and nodata.auth
    assert ask("example.com").header.rcode == RCODE.REFUSED
    srv = ask("_mysql._tcp.mysql.db.svc.cluster.local", "SRV")
    assert len(srv.rr) == 2 and len(srv.ar) == 2  # targets' A records come along


def test_resolv_conf_and_hosts_file() -> None:
    assert resolv_conf("db", D, "127.0.53.53").splitlines() == [
        "nameserver 127.0.53.53",
        "search db.svc.cluster.local svc.cluster.local cluster.local",
        "options ndots:5",
    ]
    hosts = hosts_file(pod("mysql-0", "127.10.0.1", "mysql"), D)
    assert "127.10.0.1\tmysql-0.mysql.db.svc.cluster.local\tmysql-0" in hosts.splitlines()
    assert "127.0.0.1\tlocalhost" in hosts.splitlines()

"""The proxy's routing table as a pure function of Services and Endpoints."""

from __future__ import annotations

from typing import Any

from petset.node.proxy import proxy_table


def svc(name: str, ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "db"},
        "spec": {"clusterIP": ip, "ports": ports},
    }


def ep(name: str, subsets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "db"}, "subsets": subsets}


def test_routes_named_ports_to_ready_addresses_only() -> None:
    services = [
        svc("rw", "127.20.0.1", [{"name": "sql", "port": 3306}, {"name": "adm", "port": 33062}]),
        svc("hl", "None", [{"name": "sql", "port": 3306}]),
        svc("udp", "127.20.0.2", [{"name": "d", "port": 53, "protocol": "UDP"}]),
    ]
    subset = {
        "addresses": [{"ip": "127.10.0.2"}, {"ip": "127.10.0.1"}],
        "notReadyAddresses": [{"ip": "127.10.0.3"}],
        "ports": [{"name": "sql", "port": 3307}, {"name": "adm", "port": 9}],
    }
    table = proxy_table(services, [ep("rw", [subset]), ep("hl", [subset])])
    assert set(table) == {("127.20.0.1", 3306), ("127.20.0.1", 33062)}
    assert table[("127.20.0.1", 3306)].backends == (("127.10.0.1", 3307), ("127.10.0.2", 3307))
    assert table[("127.20.0.1", 33062)].backends == (("127.10.0.1", 9), ("127.10.0.2", 9))


def test_service_without_endpoints_still_listens_with_no_backends() -> None:
    table = proxy_table([svc("rw", "127.20.0.1", [{"port": 80}])], [])
    assert table[("127.20.0.1", 80)].backends == ()
    single = ep("rw", [{"addresses": [{"ip": "127.10.0.1"}], "ports": [{"port": 8080}]}])
    table = proxy_table([svc("rw", "127.20.0.1", [{"port": 80}])], [single])
    assert table[("127.20.0.1", 80)].backends == (("127.10.0.1", 8080),)

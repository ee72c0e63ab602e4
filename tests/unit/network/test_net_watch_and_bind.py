"""ObjectCache recovers from an expired watch; DNS falls back to a free port on EACCES."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from petset.api.errors import GoneError
from petset.node import dns
from petset.node.netwatch import ObjectCache
from petset.runtime.cluster import WatchEvent
from petset.runtime.memory import MemoryCluster

LOG = logging.getLogger("test.net")


class ExpiringCluster(MemoryCluster):
    """Its first resumed watch reports the version as expired, as an API server may."""

    def __init__(self) -> None:
        super().__init__()
        self.gone = 0

    def watch(self, kind: str, namespace: str | None = None, **kw: Any) -> Iterator[WatchEvent]:
        if kw.get("resource_version") is not None and self.gone == 0:
            self.gone += 1
            raise GoneError("too old")
        return super().watch(kind, namespace, **kw)


def svc(name: str) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "db"}, "spec": {}}


def names(cache: ObjectCache) -> set[str]:
    return {name for _, name in cache.snapshot()[1]["Service"]}


def wait_for(cache: ObjectCache, want: set[str]) -> None:
    deadline = time.monotonic() + 3
    while names(cache) != want:
        assert time.monotonic() < deadline, names(cache)
        time.sleep(0.01)


def test_cache_relists_after_gone_and_follows_changes() -> None:
    cluster = ExpiringCluster()
    cluster.create(svc("a"))
    cache = ObjectCache(cluster, ("Service",), logger=LOG, watch_timeout=0.2)
    cache.start()
    try:
        assert cache.wait_synced(3)
        wait_for(cache, {"a"})
        cluster.create(svc("b"))
        cluster.delete("Service", "a", "db")
        wait_for(cache, {"b"})
        assert cluster.gone == 1
    finally:
        cache.stop()


def test_dns_bind_falls_back_to_a_free_port_on_permission_denied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = dns._bind_pair

    def bind(host: str, port: int) -> tuple[socket.socket, socket.socket]:
        if port == 53:
            raise PermissionError(13, "Permission denied")
        return real(host, port)

    monkeypatch.setattr(dns, "_bind_pair", bind)
    udp, tcp = dns.bind_dns_sockets("127.0.0.1", 53, LOG)
    with udp, tcp:
        port = udp.getsockname()[1]
        assert port != 53 and tcp.getsockname()[1] == port

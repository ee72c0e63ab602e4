"""ClusterIP proxy for the local node: clusterIP:port -> ready endpoints, over TCP.

What to serve is `proxy_table`, a pure function of Services and Endpoints; the
data path is asyncio Protocols in one dedicated thread: bytes received on one
side are handed to the other side's transport as they are (no per-byte work,
reads of up to 256 KiB), with back-pressure through pause/resume_reading.
Backends are taken round robin; a connection that cannot reach its backend tries
the next one. When an endpoint leaves (not ready, deleted), connections to it
are aborted, as kube-proxy's conntrack cleanup does, so clients reconnect to a
member that is still serving.

On Linux as root the daemon uses `kernelproxy.KernelProxy` instead (nftables
DNAT on lo: no Python in the data path); this userspace proxy is the fallback
that needs no privileges and works everywhere.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, cast

from petset.api.meta import Obj, name_of, namespace_of
from petset.api.settings import Settings
from petset.node.netwatch import ObjectCache
from petset.runtime.cluster import Cluster

Address = tuple[str, int]


@dataclass(frozen=True)
class Route:
    service: str  # namespace/name:port, for logs
    backends: tuple[Address, ...]


def _target_port(service_port: Obj, subset_ports: list[Obj], single: bool) -> int | None:
    name = service_port.get("name", "")
    for p in subset_ports:
        if p.get("name", "") == name and p.get("protocol", "TCP") == "TCP":
            return int(p["port"])
    if single and len(subset_ports) == 1:
        return int(subset_ports[0]["port"])
    return None


def proxy_table(services: Iterable[Obj], endpoints: Iterable[Obj]) -> dict[Address, Route]:
    """clusterIP:port -> the ready endpoints behind it, for every TCP port of every
    Service that has a clusterIP."""
    by_key = {(namespace_of(e), name_of(e)): e for e in endpoints}
    table: dict[Address, Route] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName":
            continue
        ports = spec.get("ports") or []
        ep = by_key.get((namespace_of(svc), name_of(svc))) or {}
        for sp in ports:
            if sp.get("protocol", "TCP") != "TCP":
                continue
            backends: list[Address] = []
            for subset in ep.get("subsets") or []:
                port = _target_port(sp, subset.get("ports") or [], len(ports) == 1)
                if port is None:
                    continue
                backends += [(a["ip"], port) for a in subset.get("addresses") or []]
            label = f"{namespace_of(svc)}/{name_of(svc)}:{sp['port']}"
            table[(ip, int(sp["port"]))] = Route(label, tuple(sorted(set(backends))))
    return table


class _Side(asyncio.Protocol):
    """One end of a proxied connection; forwards what it reads to its peer."""

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.pending: list[bytes] = []
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's does not subclass asyncio.Transport, hence the cast).
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        if self is self.pipe.client:
            # Nothing to forward to yet: read nothing until the backend answers.
            transport.pause_reading()
            asyncio.get_running_loop().create_task(self.pipe.connect())

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:  # the client spoke before its backend connected (uvloop may read while paused)
            self.pending.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.eof:
            self.pipe.close()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()  # half-close travels on; the other way stays open
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe.close()

    # The peer's send buffer is full: stop reading until it drains.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


def _returning(side: _Side) -> Callable[[], _Side]:
    return lambda: side


class _Pipe:
    """A client connection and the backend connection it was given."""

    def __init__(self, proxy: ServiceProxy, listen: Address) -> None:
        self.proxy = proxy
        self.listen = listen
        self.client = _Side(self)
        self.backend: _Side | None = None
        self.backend_address: Address | None = None
        self.closed = False

    def close(self, *, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self.proxy._forget(self)
        for side in (self.client, self.backend):
            if side is not None and side.transport is not None:
                side.transport.abort() if abort else side.transport.close()

    async def connect(self) -> None:
        client = self.client.transport
        assert client is not None
        loop = asyncio.get_running_loop()
        for backend in self.proxy._pick(self.listen):
            side = _Side(self)
            # The backend may speak first (a MySQL greeting), even before this await returns.
            side.peer = self.client
            try:
                await loop.create_connection(_returning(side), backend[0], backend[1])
            except OSError:
                continue
            if self.closed:
                assert side.transport is not None
                side.transport.close()
                return
            self.backend, self.backend_address = side, backend
            self.client.peer = side
            if self.client.pending:
                assert side.transport is not None
                side.transport.writelines(self.client.pending)
                self.client.pending.clear()
            self.proxy._track(self)
            client.resume_reading()
            return
        self.proxy._log.info("proxy %s: no ready endpoint answered; closing", self.listen)
        self.close()


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """asyncio's loop, or uvloop ("uvloop"; "auto": when installed). uvloop is not a
    dependency: it did not measure clearly faster on the loaded test machine."""
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop
    return asyncio.new_event_loop()


class ServiceProxy:
    def __init__(
        self,
        settings: Settings,
        cluster: Cluster,
        *,
        logger: logging.Logger,
        event_loop: Literal["auto", "asyncio", "uvloop"] = "asyncio",
    ) -> None:
        self._settings = settings
        self._log = logger
        self._cache = ObjectCache(
            cluster, ("Service", "Endpoints"), logger=logger, on_change=self._poke
        )
        self._loop = _new_loop(event_loop)
        self._thread: threading.Thread | None = None
        self._poked = False
        self._routes: dict[Address, Route] = {}
        self._servers: dict[Address, asyncio.Server] = {}
        self._next: dict[Address, itertools.count[int]] = {}
        self._all: set[_Pipe] = set()  # open connections
        self._failed: set[Address] = set()  # listeners that could not bind
        self._sync_lock = asyncio.Lock()  # one sync at a time: _listen awaits

    # -- lifecycle (any thread) -------------------------------------------------
    def start(self, *, sync_timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._loop.run_forever, name="proxy", daemon=True)
        self._thread.start()
        self._cache.start()
        if not self._cache.wait_synced(sync_timeout):
            self._log.warning("proxy: the first list of Services took over %.0f s", sync_timeout)
        asyncio.run_coroutine_threadsafe(self._sync(), self._loop).result(sync_timeout)
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._retry_failed()))

    def stop(self) -> None:
        self._cache.stop()
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        self._loop.close()
        self._thread = None

    def listening(self) -> set[Address]:
        """The clusterIP:port pairs served right now."""
        return set(self._servers)

    def _poke(self) -> None:
        # Called from watch threads: coalesce bursts into one sync on the loop.
        if not self._poked and self._thread is not None:
            self._poked = True
            self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._sync()))

    # -- the loop thread ----------------------------------------------------------
    async def _sync(self) -> None:
        async with self._sync_lock:
            await self._sync_locked()

    async def _sync_locked(self) -> None:
        self._poked = False
        _, snap = self._cache.snapshot()
        routes = proxy_table(snap["Service"].values(), snap["Endpoints"].values())
        self._routes = routes
        for addr in set(self._servers) - set(routes):
            self._servers.pop(addr).close()
            self._log.info("proxy: stopped listening on %s:%d", *addr)
        for addr in set(routes) - set(self._servers):
            await self._listen(addr)
        for pipe in list(self._all):
            if not self._still_routed(pipe):
                pipe.close(abort=True)

    async def _retry_failed(self, every: float = 5.0) -> None:
        """Listeners that failed to bind (a port still held, say) are tried again."""
        while True:
            await asyncio.sleep(every)
            if self._failed:
                await self._sync()

    async def _listen(self, addr: Address) -> None:
        def factory() -> _Side:
            pipe = _Pipe(self, addr)
            self._all.add(pipe)
            return pipe.client

        try:
            server = await self._loop.create_server(
                factory, addr[0], addr[1], reuse_address=True, backlog=1024
            )
        except OSError as exc:
            # Retried at every sync; said once (e.g. a user-given clusterIP off loopback).
            level = logging.DEBUG if addr in self._failed else logging.WARNING
            self._failed.add(addr)
            service = self._routes[addr].service
            self._log.log(level, "proxy: cannot listen on %s:%d for %s: %s", *addr, service, exc)
            return
        self._failed.discard(addr)
        self._servers[addr] = server
        self._log.info("proxy: %s on %s:%d", self._routes[addr].service, *addr)

    def _pick(self, listen: Address) -> list[Address]:
        """Backends to try, starting with the next one round robin."""
        route = self._routes.get(listen)
        if route is None or not route.backends:
            return []
        n = next(self._next.setdefault(listen, itertools.count())) % len(route.backends)
        return list(route.backends[n:] + route.backends[:n])

    def _still_routed(self, pipe: _Pipe) -> bool:
        route = self._routes.get(pipe.listen)
        backend = pipe.backend_address
        return backend is None or (route is not None and backend in route.backends)

    def _track(self, pipe: _Pipe) -> None:
        if not self._still_routed(pipe):
            pipe.close(abort=True)  # the endpoint left while we were connecting

    def _forget(self, pipe: _Pipe) -> None:
        self._all.discard(pipe)

    async def _shutdown(self) -> None:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        for pipe in list(self._all):
            pipe.close(abort=True)

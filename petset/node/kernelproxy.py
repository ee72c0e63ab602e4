"""ClusterIP Services in the kernel: nftables DNAT on loopback, as kube-proxy does.

The userspace `ServiceProxy` copies every byte through Python (0.2-0.55x of a
direct connection); here the kernel rewrites the destination of the first
packet of each connection and conntrack does the rest, both ways, so proxied
traffic costs what direct traffic costs. Needs root (CAP_NET_ADMIN) and `nft`.

Measured on Debian 12 (nftables 1.0.6, kernel 6.x), all on 127.0.0.0/8:
* a `nat` chain on the `output` hook (priority -100) DNATs locally generated
  traffic from 127.x to 127.x with no sysctl (route_localnet stays 0: packets
  never leave lo); replies are un-NATed by conntrack;
* `dnat ip to numgen random mod N map { 0 : ip . port, ... }` spreads
  connections over ready endpoints; `reject with tcp reset` works in that chain
  (a refused connect, even when something listens on the service address);
* a changed rule does not touch established connections (conntrack keeps
  them): `conntrack -D` resets the client only at its next send and leaves the
  backend's socket ESTABLISHED; `ss -K` (SOCK_DESTROY) closes the client at
  once (ECONNABORTED) and its RST closes the backend side too, in ~20 ms. So
  connections to a removed endpoint are found by pairing sockets (the client's
  local address is the backend socket's peer: DNAT keeps the source) and
  destroyed with `ss -K`.

Each state directory owns one table (`petset-<hash of home>`), rewritten whole
in one `nft -f` transaction on every change, so concurrent daemons never touch
each other's rules. The rules outlive the daemon (pods keep serving across a
restart); `remove_table` deletes them (`petset daemon stop --pods`), as does a
sync that finds no Service left.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from petset.api.settings import Settings
from petset.node.netwatch import ObjectCache
from petset.node.proxy import Address, Route, proxy_table
from petset.runtime.cluster import Cluster

PROXY_MODES = ("auto", "kernel", "userspace")
_RESYNC_SECONDS = 30.0


def table_name(home: Path) -> str:
    """The nftables table of the daemon whose state directory is `home`."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return f"petset-{digest}"


def _comment(text: str) -> str:
    # nft comments: at most 128 bytes, no double quotes.
    return '"' + text.replace('"', "'")[:120] + '"'


def _verdict(route: Route) -> str:
    if not route.backends:
        return "reject with tcp reset"  # refuse at once rather than hang
    if len(route.backends) == 1:
        ip, port = route.backends[0]
        return f"dnat ip to {ip}:{port}"
    entries = ", ".join(f"{i} : {ip} . {port}" for i, (ip, port) in enumerate(route.backends))
    return f"dnat ip to numgen random mod {len(route.backends)} map {{ {entries} }}"


def _home_comment(home: Path) -> str:
    """The table's comment names its state directory so that `remove_orphans` can
    tell a vanished one; a path that does not fit whole is not named at all."""
    text = f"petset home={home}"
    fits = len(text.encode()) <= 120 and '"' not in text
    return _comment(text if fits else "petset")


def render_ruleset(table: str, routes: Mapping[Address, Route], *, home: Path) -> str:
    """The whole table as one `nft -f` transaction: create it if missing, empty
    it, define it again. Applied atomically, so no connection ever sees half a
    table. A table's comment is set only when it is created: hence on the first line."""
    lines = [
        f"table ip {table} {{ comment {_home_comment(home)}; }}",
        f"flush table ip {table}",
        f"table ip {table} {{",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
    ]
    for (ip, port), route in sorted(routes.items()):
        rule = f"ip daddr {ip} tcp dport {port} {_verdict(route)}"
        lines.append(f"    {rule} comment {_comment(route.service)}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def removed_backends(
    old: Mapping[Address, Route], new: Mapping[Address, Route]
) -> dict[Address, set[Address]]:
    """service address -> backends it no longer sends to (the Service gone, or
    the endpoint not ready or deleted)."""
    removed: dict[Address, set[Address]] = {}
    for addr, route in old.items():
        kept = set(new[addr].backends) if addr in new else set()
        gone = set(route.backends) - kept
        if gone:
            removed[addr] = gone
    return removed


Socket = tuple[Address, Address]  # (local, peer)


def _address(text: str) -> Address | None:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or host.startswith("["):
        return None  # IPv6 or a wildcard: never a ClusterIP connection here
    return host, int(port)


def parse_ss(output: str) -> list[Socket]:
    """(local, peer) of each IPv4 socket in `ss -tanH` output."""
    sockets = []
    for line in output.splitlines():
        words = line.split()
        if len(words) < 5 or words[0] == "LISTEN":
            continue
        local, peer = _address(words[3]), _address(words[4])
        if local is not None and peer is not None:
            sockets.append((local, peer))
    return sockets


def doomed_clients(
    sockets: Iterable[Socket], removed: Mapping[Address, set[Address]]
) -> list[Socket]:
    """Client sockets connected to a service address whose backend was removed.
    DNAT rewrites only the destination, so the client's local address is the
    peer of the backend's socket: pair them."""
    sockets = list(sockets)
    gone_backends = {b for bs in removed.values() for b in bs}
    peers_of = {(local, peer) for local, peer in sockets if local in gone_backends}
    doomed = []
    for local, peer in sockets:
        backends = removed.get(peer)
        if backends and any((b, local) in peers_of for b in backends):
            doomed.append((local, peer))
    return doomed


def _ss_filter(sockets: list[Socket]) -> str:
    terms = [f"( src {a}:{ap} and dst {b}:{bp} )" for (a, ap), (b, bp) in sockets]
    return " or ".join(terms)


@dataclass(frozen=True)
class ProxyChoice:
    mode: str  # "kernel" or "userspace"
    reason: str


def nft_works() -> str | None:
    """None when this process can manage nftables tables; else why not."""
    if os.geteuid() != 0:
        return "not root (nftables needs CAP_NET_ADMIN)"
    nft = shutil.which("nft")
    if nft is None:
        return "nft not found (Debian package nftables)"
    probe = subprocess.run([nft, "list", "tables"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"nft list tables failed: {probe.stderr.strip()[:200]}"
    if shutil.which("ss") is None:
        return "ss not found (Debian package iproute2)"
    return None


def choose_mode(settings: Settings) -> ProxyChoice:
    """kernel when asked for or (auto) when root with a working nft; else userspace."""
    wanted = settings.proxy_mode
    if wanted not in PROXY_MODES:
        raise ValueError(f"PETSET_PROXY_MODE={wanted!r}: must be one of {', '.join(PROXY_MODES)}")
    if wanted == "userspace":
        return ProxyChoice("userspace", "PETSET_PROXY_MODE=userspace")
    problem = nft_works()
    if problem is None:
        return ProxyChoice("kernel", f"nftables table ip {table_name(settings.home)}")
    if wanted == "kernel":
        raise RuntimeError(f"PETSET_PROXY_MODE=kernel but {problem}")
    return ProxyChoice("userspace", problem)


def _nft(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, timeout=10)


def remove_table(home: Path) -> bool:
    """Delete the table of the state directory `home`; False when there was none
    (or no nft, or no privilege: then there was none either)."""
    if shutil.which("nft") is None:
        return False
    return _nft(["delete", "table", "ip", table_name(home)]).returncode == 0


def remove_orphans(logger: logging.Logger) -> None:
    """Delete petset tables whose state directory is gone (a test's temporary
    home, a removed PETSET_HOME): nothing could ever clean them up otherwise."""
    listing = _nft(["list", "tables"])
    for name in re.findall(r"^table ip (petset-[0-9a-f]{12})$", listing.stdout, re.M):
        text = _nft(["list", "table", "ip", name]).stdout
        match = re.search(r'comment "petset home=([^"]*)"', text)
        if match and not Path(match.group(1)).exists():
            _nft(["delete", "table", "ip", name])
            logger.info("kernel proxy: removed table %s of vanished %s", name, match.group(1))


class KernelProxy:
    """Follows Services and Endpoints and keeps this daemon's nftables table equal
    to `proxy_table` (same interface as ServiceProxy: start, stop)."""

    def __init__(self, settings: Settings, cluster: Cluster, *, logger: logging.Logger) -> None:
        self._home = settings.home
        self.table = table_name(settings.home)
        self._log = logger
        self._cache = ObjectCache(
            cluster, ("Service", "Endpoints"), logger=logger, on_change=self._poke
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._routes: dict[Address, Route] | None = None  # what the table holds
        self._closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-proxy-close")

    def start(self, *, sync_timeout: float = 10.0) -> None:
        """Re-sync the table (it may have outlived a previous daemon), then follow changes."""
        remove_orphans(self._log)
        self._cache.start()
        if not self._cache.wait_synced(sync_timeout):
            self._log.warning(
                "kernel proxy: the first list of Services took over %.0f s", sync_timeout
            )
        self._sync_safely()
        self._thread = threading.Thread(target=self._run, name="kernel-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following; the rules stay (pods keep serving while no daemon runs)."""
        self._cache.stop()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self._closer.shutdown(wait=False, cancel_futures=True)

    def routes(self) -> dict[Address, Route]:
        """What the table holds now (empty before the first sync)."""
        return dict(self._routes or {})

    def _poke(self) -> None:
        self._wake.set()  # from watch threads; bursts coalesce into one sync

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(_RESYNC_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            # Periodically rewrite even when nothing changed, should someone flush it.
            if not self._sync_safely(force=not woken):
                self._stop.wait(1.0)
                self._wake.set()

    def _sync_safely(self, *, force: bool = False) -> bool:
        try:
            self._sync(force=force)
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            self._log.warning("kernel proxy: sync failed (%s); retrying in 1 s", exc)
            return False
        return True

    def _sync(self, *, force: bool = False) -> None:
        _, snap = self._cache.snapshot()
        routes = proxy_table(snap["Service"].values(), snap["Endpoints"].values())
        old = self._routes
        if routes == old and not force:
            return
        self._apply(routes)
        self._routes = routes
        if old is not None and old != routes:
            self._log_changes(old, routes)
            removed = removed_backends(old, routes)
            if removed:
                # Off this loop: two `ss` runs must not delay the next change (in a
                # failover, the rw Service's new backend right after the old one left).
                self._closer.submit(self._close_removed_safely, removed)

    def _apply(self, routes: dict[Address, Route]) -> None:
        if not routes:  # no Service left: no table at all
            result = _nft(["delete", "table", "ip", self.table])
            if result.returncode != 0 and "No such file" not in result.stderr:
                raise RuntimeError(f"nft delete table: {result.stderr.strip()}")
            return
        result = _nft(["-f", "-"], render_ruleset(self.table, routes, home=self._home))
        if result.returncode != 0:
            raise RuntimeError(f"nft -f: {result.stderr.strip()[:500]}")

    def _log_changes(self, old: Mapping[Address, Route], new: Mapping[Address, Route]) -> None:
        for addr, route in sorted(new.items()):
            if old.get(addr) != route:
                backends = ", ".join(f"{ip}:{port}" for ip, port in route.backends) or "none"
                self._log.info("kernel proxy: %s on %s:%d -> %s", route.service, *addr, backends)
        for addr in sorted(set(old) - set(new)):
            self._log.info("kernel proxy: %s on %s:%d removed", old[addr].service, *addr)

    def _close_removed_safely(self, removed: dict[Address, set[Address]]) -> None:
        try:
            self._close_removed(removed)
        except (OSError, subprocess.SubprocessError) as exc:
            self._log.warning("kernel proxy: closing connections failed (%s)", exc)

    def _close_removed(self, removed: dict[Address, set[Address]]) -> None:
        """Destroy connections still going to a backend that left, as ServiceProxy
        aborts them, so clients reconnect to a member that still serves."""
        if not removed:
            return
        listing = subprocess.run(["ss", "-tanH"], capture_output=True, text=True, timeout=10)
        doomed = doomed_clients(parse_ss(listing.stdout), removed)
        for i in range(0, len(doomed), 50):  # keeps each filter a sane length
            batch = doomed[i : i + 50]
            subprocess.run(["ss", "-K", "-tn", _ss_filter(batch)], capture_output=True, timeout=10)
        if doomed:
            self._log.info(
                "kernel proxy: closed %d connection(s) to removed endpoints", len(doomed)
            )

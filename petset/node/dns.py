"""Cluster DNS for the local node: answers for cluster.local over UDP and TCP.

What to answer is `dnsrecords.build_zone` over a watch-fed copy of Services,
Endpoints and Pods (rebuilt lazily, on the first query after a change); this
module only speaks the protocol. One thread serves UDP (a query is parsed,
answered and sent back in the same thread: no per-query thread start, so an
answer takes a fraction of a millisecond) and one thread accepts TCP, with a
thread per TCP connection. Names outside the cluster domain are REFUSED: the
machine may have no network, and forwarding is the host resolver's job.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
import threading
from collections.abc import Callable

from dnslib import PTR as PTRData
from dnslib import QTYPE, RCODE, RR, SOA, SRV, A, DNSError, DNSRecord

from petset.api.meta import Obj
from petset.api.settings import Settings
from petset.node.dnsrecords import TTL, Srv, Zone, build_zone
from petset.node.netwatch import ObjectCache
from petset.runtime.cluster import Cluster

KINDS = ("Service", "Endpoints", "Pod")
_UDP_LIMIT = 512


def bind_dns_sockets(
    host: str, port: int, logger: logging.Logger
) -> tuple[socket.socket, socket.socket]:
    """UDP and TCP sockets on host:port; on EACCES for a privileged port, a free high port."""
    try:
        return _bind_pair(host, port)
    except PermissionError:
        logger.warning(
            "cannot bind DNS on %s:%d (permission denied); using a free high port instead: "
            "resolv.conf cannot name a port, so pods find cluster names in their hosts files",
            host,
            port,
        )
    for _ in range(20):
        try:
            return _bind_pair(host, 0)
        except OSError as exc:  # the UDP port was free but its TCP twin was not
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"no free port pair for DNS on {host}")


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((host, port))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((host, udp.getsockname()[1]))
        tcp.listen(64)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


def _rdata(rtype: str, data: str | Srv) -> object:
    if isinstance(data, Srv):
        return SRV(data.priority, data.weight, data.port, data.target + ".")
    if rtype == "PTR":
        return PTRData(data + ".")
    return A(data)


def answer(zone: Zone, query: DNSRecord) -> DNSRecord:
    """The reply to one query: records, NOERROR/NODATA or NXDOMAIN with the SOA, or REFUSED."""
    reply = query.reply(ra=0, aa=1)
    q = query.q
    qname = str(q.qname)
    if not zone.is_authoritative_for(qname):
        reply.header.aa = 0
        reply.header.rcode = RCODE.REFUSED
        return reply
    qtype = QTYPE[q.qtype]
    for rtype in ("A", "SRV", "PTR") if qtype == "ANY" else (qtype,):
        for data in zone.lookup(qname, rtype):
            reply.add_answer(RR(q.qname, getattr(QTYPE, rtype), ttl=TTL, rdata=_rdata(rtype, data)))
            if isinstance(data, Srv):
                for ip in zone.lookup(data.target, "A"):
                    reply.add_ar(RR(data.target + ".", QTYPE.A, ttl=TTL, rdata=A(ip)))
    if not reply.rr:
        if not zone.exists(qname):
            reply.header.rcode = RCODE.NXDOMAIN
        reply.add_auth(_soa(zone.domain))
    return reply


def _soa(domain: str) -> RR:
    times = (1, 7200, 1800, 86400, TTL)
    soa = SOA(f"ns.dns.{domain}.", f"hostmaster.{domain}.", times)
    return RR(domain + ".", QTYPE.SOA, ttl=TTL, rdata=soa)


def _udp_limit(query: DNSRecord) -> int:
    for rr in query.ar:
        if rr.rtype == QTYPE.OPT:
            return max(_UDP_LIMIT, int(rr.rclass))
    return _UDP_LIMIT


class ClusterDNS:
    def __init__(self, settings: Settings, cluster: Cluster, *, logger: logging.Logger) -> None:
        self._settings = settings
        self._log = logger
        self._cache = ObjectCache(cluster, KINDS, logger=logger)
        self._zone = build_zone(settings.cluster_domain, [], [], [])
        self._zone_version = -1
        self._zone_lock = threading.Lock()
        # Answers by (zone version, transport, query bytes after the ID): a repeated
        # question skips parsing and packing, the bulk of the time a query takes.
        self._answers: dict[tuple[int, bool, bytes], bytes] = {}
        self._answers_version = -1
        self._udp: socket.socket | None = None
        self._port: int | None = None
        self._tcp: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        assert self._udp is not None, "ClusterDNS.start() first"
        host, port = self._udp.getsockname()[:2]
        return str(host), int(port)

    @property
    def bound_port(self) -> int | None:
        """The port it serves on once started (not 53 when it could not bind that)."""
        return self._port

    def on_change(self, fn: Callable[[], None]) -> None:
        """Call `fn` (quick, non-blocking) whenever what the zone is built from changes."""
        self._cache.add_listener(fn)

    def pods(self) -> dict[tuple[str, str], Obj]:
        """The Pods it knows, by (namespace, name)."""
        return self._cache.snapshot()[1]["Pod"]

    def start(self, *, sync_timeout: float = 10.0) -> None:
        s = self._settings
        self._udp, self._tcp = bind_dns_sockets(s.dns_address, s.dns_port, self._log)
        self._udp.settimeout(0.5)
        self._port = int(self._udp.getsockname()[1])
        self._tcp.settimeout(0.5)
        self._cache.start()
        if not self._cache.wait_synced(sync_timeout):
            self._log.warning("DNS: the first list of %s took over %.0f s", KINDS, sync_timeout)
        for target, name in ((self._serve_udp, "dns-udp"), (self._serve_tcp, "dns-tcp")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self._log.info("cluster DNS for %s on %s:%d", s.cluster_domain, *self.address)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2.0)
        self._threads.clear()
        self._cache.stop()
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()

    def zone(self) -> Zone:
        """The current zone, rebuilt if Services, Endpoints or Pods changed since the last one."""
        version = self._cache.version
        if version == self._zone_version:
            return self._zone
        with self._zone_lock:
            version, snap = self._cache.snapshot()
            if version != self._zone_version:
                self._zone = build_zone(
                    self._settings.cluster_domain,
                    snap["Service"].values(),
                    snap["Endpoints"].values(),
                    snap["Pod"].values(),
                )
                self._zone_version = version
            return self._zone

    def handle(self, data: bytes, *, udp: bool) -> bytes | None:
        if len(data) < 12:
            return None
        key = (self._cache.version, udp, data[2:])
        cached = self._answers.get(key)
        if cached is not None:
            return data[:2] + cached
        out = self._answer(data, udp=udp)
        if out is not None:
            if key[0] != self._answers_version or len(self._answers) > 10_000:
                self._answers = {}  # replaced, not cleared: other threads may be reading
                self._answers_version = key[0]
            self._answers[key] = out[2:]
        return out

    def _answer(self, data: bytes, *, udp: bool) -> bytes | None:
        try:
            query = DNSRecord.parse(data)
        except DNSError:
            return None  # not DNS: say nothing rather than amplify garbage
        if not query.questions:
            return None
        packed: bytes = answer(self.zone(), query).pack()
        if udp and len(packed) > _udp_limit(query):
            truncated = query.reply(ra=0, aa=1)
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed

    def _serve_udp(self) -> None:
        sock = self._udp
        assert sock is not None
        while not self._stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                out = self.handle(data, udp=True)
                if out is not None:
                    sock.sendto(out, peer)
            except Exception:  # one bad query must not stop DNS
                self._log.exception("DNS: failed to answer a UDP query from %s", peer)

    def _serve_tcp(self) -> None:
        sock = self._tcp
        assert sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_conn, args=(conn,), daemon=True).start()

    def _serve_conn(self, conn: socket.socket) -> None:
        conn.settimeout(10.0)
        with conn:
            try:
                while not self._stop.is_set():
                    head = _recv_exact(conn, 2)
                    if head is None:
                        return
                    data = _recv_exact(conn, struct.unpack("!H", head)[0])
                    if data is None:
                        return
                    out = self.handle(data, udp=False)
                    if out is None:
                        return
                    conn.sendall(struct.pack("!H", len(out)) + out)
            except OSError:
                return


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

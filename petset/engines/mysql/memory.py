"""What the MySQLCluster controller remembers between passes, per cluster.

A full pass (render, list pods, observe every member, decide, write status)
is what a cluster needs when something changed; a quiet, healthy cluster only
needs to know that nothing did. So the controller keeps, per cluster:

* `dirty`: an event arrived since the last full pass (a pod's status, an owned
  object, the cluster's spec or annotations): the next pass is a full one;
* `expected`: what each member answered in the last full pass of a healthy
  cluster; a quiet pass pulses the primary (every HEARTBEAT) and the replicas
  (every REPLICA_PULSE_EVERY beats) over persistent connections and falls
  through to a full pass at the first difference or silence;
* `silent_since`: when a pulse first got no answer, so a hung primary's
  silence is counted from there (topology.HUNG_AFTER_SECONDS);
* `semisync_seen`: when the primary was last seen semi-synchronous; it lives
  as long as the process: after a daemon restart nothing has been seen.

Events mark a cluster dirty through the controller's mappers; this module
does no I/O of its own except the pulses.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field

from petset.api.meta import Obj, ObjectKey
from petset.engines.mysql import sql
from petset.engines.mysql.links import Links, Pulse

# A quiet cluster's primary answers a pulse this often: a hung primary (no
# process exit, no pod event) is noticed within HEARTBEAT + sql.OBSERVE_TIMEOUT.
HEARTBEAT = 1.0
# ... its replicas every this many beats (replication stopping is not urgent).
REPLICA_PULSE_EVERY = 3
# ... and everything is observed again (lag, GTID positions in status) this often.
FULL_RESYNC = 15.0


def fingerprint(obj: Obj) -> str:
    """What of a MySQLCluster a full pass must see when it changes: not status
    (the controller writes that itself, and its own writes must not wake it)."""
    md = obj.get("metadata") or {}
    return json.dumps(
        [
            md.get("uid"),
            md.get("generation"),
            md.get("annotations"),
            md.get("labels"),
            md.get("deletionTimestamp"),
        ],
        sort_keys=True,
        default=str,
    )


@dataclass
class ClusterMemory:
    dirty: bool = True
    fingerprint: str = ""
    quiet_until: float = 0.0  # monotonic; 0: not quiet, every pass is a full one
    message: str = ""  # the last full pass's outcome sentence
    creds: sql.Credentials | None = None
    expected: dict[str, tuple[str, Pulse]] = field(default_factory=dict)  # name -> (ip, pulse)
    silent_since: dict[str, float] = field(default_factory=dict)  # name -> epoch seconds
    semisync_seen: float = -math.inf  # monotonic
    beats: int = 0
    links: Links = field(default_factory=Links)

    def quiet(self) -> bool:
        return not self.dirty and bool(self.expected) and time.monotonic() < self.quiet_until

    def settle(self, message: str, expected: dict[str, tuple[str, Pulse]]) -> None:
        """The full pass found the cluster healthy with nothing to do."""
        self.message, self.expected = message, expected
        self.quiet_until = time.monotonic() + FULL_RESYNC

    def unsettle(self) -> None:
        self.quiet_until, self.expected = 0.0, {}

    def heartbeat(self) -> bool:
        """Pulse the members; True when every one answered as in the last full pass."""
        if self.creds is None:
            return False
        self.beats += 1
        replicas_too = self.beats % REPLICA_PULSE_EVERY == 0
        # the primary first: it is the one a failover waits for
        for name, (ip, want) in sorted(self.expected.items(), key=lambda i: i[1][1].read_only):
            if want.read_only and not replicas_too:
                continue
            started = time.time()
            try:
                got = self.links.get(ip, self.creds).pulse()
            except sql.MemberUnreachable:
                self.silent_since.setdefault(name, started)
                return False
            if got != want:
                return False
            if not got.read_only and got.semi_sync_on:
                self.semisync_seen = time.monotonic()
        return True


class Memory:
    """ClusterMemory by cluster key; mappers mark clusters dirty from watch threads."""

    def __init__(self) -> None:
        self._by_key: dict[ObjectKey, ClusterMemory] = {}
        self._lock = threading.Lock()

    def of(self, key: ObjectKey) -> ClusterMemory:
        with self._lock:
            mem = self._by_key.get(key)
            if mem is None:
                mem = self._by_key[key] = ClusterMemory()
            return mem

    def mark_dirty(self, key: ObjectKey) -> None:
        self.of(key).dirty = True

    def note_cluster(self, obj: Obj, key: ObjectKey) -> None:
        """A MySQLCluster event: dirty unless only its status changed."""
        mem = self.of(key)
        if fingerprint(obj) != mem.fingerprint:
            mem.dirty = True

    def forget(self, key: ObjectKey) -> None:
        with self._lock:
            mem = self._by_key.pop(key, None)
        if mem is not None:
            mem.links.close()

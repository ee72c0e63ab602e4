"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection.

One attempt (`try_acquire_or_renew`) reads the Lease and writes it back with
its resourceVersion, so two candidates racing for it cannot both win: the loser
gets a Conflict. A holder's lease counts as expired only when this candidate
has seen the same record unchanged for leaseDurationSeconds on its OWN clock
(clocks of different machines are never compared).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError, PetsetError
from petset.api.meta import Obj
from petset.runtime.cluster import Cluster

log = logging.getLogger("petset.leader")


@dataclass(frozen=True)
class LeaseConfig:
    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self, cluster: Cluster, config: LeaseConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cluster = cluster
        self.config = config
        self.clock = clock
        self._observed: tuple[object, float] | None = None  # (holder record, when seen)

    def _record(self, lease: Obj) -> tuple[object, ...]:
        spec = lease.get("spec") or {}
        return (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))

    def _spec(self, transitions: int, acquire_time: str | None) -> Obj:
        now = _micro_time()
        return {
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": int(self.config.lease_duration),
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def try_acquire_or_renew(self) -> bool:
        """True when this candidate holds the Lease after the attempt."""
        c = self.config
        try:
            lease = self.cluster.get("Lease", c.name, c.namespace)
        except NotFoundError:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": c.name, "namespace": c.namespace},
                    "spec": self._spec(0, None)}  # fmt: skip
            try:
                self.cluster.create(body)
            except AlreadyExistsError:
                return False
            self._observed = (self._record(body), self.clock())
            return True
        record = self._record(lease)
        if self._observed is None or self._observed[0] != record:
            self._observed = (record, self.clock())
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or c.lease_duration)
        expired = self._observed[1] + duration <= self.clock()
        if holder and holder != c.identity and not expired:
            return False
        mine = holder == c.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
        lease["spec"] = self._spec(transitions, spec.get("acquireTime") if mine else None)
        try:
            updated = self.cluster.update(lease)
        except ConflictError:
            return False
        self._observed = (self._record(updated), self.clock())
        return True

    def holder(self) -> str | None:
        try:
            lease = self.cluster.get("Lease", self.config.name, self.config.namespace)
        except NotFoundError:
            return None
        return (lease.get("spec") or {}).get("holderIdentity") or None

    def release(self) -> None:
        """Give the Lease up at once (client-go's ReleaseOnCancel): the next candidate
        need not wait for it to expire."""
        c = self.config
        try:
            lease = self.cluster.get("Lease", c.name, c.namespace)
            if (lease.get("spec") or {}).get("holderIdentity") != c.identity:
                return
            lease["spec"] = {**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1,
                             "renewTime": _micro_time()}  # fmt: skip
            self.cluster.update(lease)
        except PetsetError as err:
            log.warning("releasing lease %s/%s failed: %s", c.namespace, c.name, err)

    def acquire(self, stop: threading.Event) -> bool:
        """Block until leader (True) or `stop` is set (False)."""
        log.info("%s: waiting to lead (lease %s/%s)", self.config.identity,
                 self.config.namespace, self.config.name)  # fmt: skip
        while not stop.is_set():
            try:
                if self.try_acquire_or_renew():
                    log.info("%s: became leader", self.config.identity)
                    return True
            except PetsetError as err:
                log.warning("lease: %s", err)
            stop.wait(self.config.retry_period)
        return False

    def keep_renewing(self, stop: threading.Event) -> bool:
        """Renew every retry period; False once no renewal succeeded within the
        renew deadline (leadership lost), True when `stop` was set."""
        last_renew = self.clock()
        while not stop.wait(self.config.retry_period):
            try:
                if self.try_acquire_or_renew():
                    last_renew = self.clock()
                    continue
            except PetsetError as err:
                log.warning("lease renewal: %s", err)
            if self.clock() - last_renew >= self.config.renew_deadline:
                log.error("%s: lost the lease", self.config.identity)
                return False
        return True

"""Leader election decisions against a small Lease store with optimistic concurrency."""

from __future__ import annotations

import copy
from typing import Any

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError
from petset.api.meta import Obj
from petset.kube.leader import LeaderElector, LeaseConfig


class Leases:
    """get/create/update of Leases, with resourceVersion checks like the API server."""

    def __init__(self) -> None:
        self.objs: dict[str, Obj] = {}
        self.rv = 0

    def _stamp(self, obj: Obj) -> Obj:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objs[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    def get(self, kind: str, name: str, namespace: str = "") -> Obj:
        if name not in self.objs:
            raise NotFoundError(name)
        return copy.deepcopy(self.objs[name])

    def create(self, obj: Obj) -> Obj:
        if obj["metadata"]["name"] in self.objs:
            raise AlreadyExistsError("exists")
        return self._stamp(copy.deepcopy(obj))

    def update(self, obj: Obj) -> Obj:
        live = self.objs[obj["metadata"]["name"]]
        if obj["metadata"]["resourceVersion"] != live["metadata"]["resourceVersion"]:
            raise ConflictError("stale")
        return self._stamp(copy.deepcopy(obj))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _elector(leases: Leases, clock: Clock, identity: str) -> LeaderElector:
    cfg = LeaseConfig(name="petset-operator", namespace="ops", identity=identity)
    cluster: Any = leases
    return LeaderElector(cluster, cfg, clock=clock)


def test_first_candidate_creates_and_holds_the_lease() -> None:
    leases, clock = Leases(), Clock()
    a = _elector(leases, clock, "a")
    assert a.try_acquire_or_renew()
    spec = leases.objs["petset-operator"]["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15
    assert a.try_acquire_or_renew()  # renewal keeps it
    assert leases.objs["petset-operator"]["spec"]["leaseTransitions"] == 0


def test_second_candidate_waits_until_the_lease_expires_on_its_own_clock() -> None:
    leases, clock = Leases(), Clock()
    a, b = _elector(leases, clock, "a"), _elector(leases, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    clock.now += 14
    assert not b.try_acquire_or_renew()  # 14 s unchanged: not yet expired
    clock.now += 1
    assert b.try_acquire_or_renew()  # a stopped renewing 15 s ago
    spec = leases.objs["petset-operator"]["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert not a.try_acquire_or_renew()  # the old leader sees it lost


def test_renewals_keep_others_out_indefinitely() -> None:
    leases, clock = Leases(), Clock()
    a, b = _elector(leases, clock, "a"), _elector(leases, clock, "b")
    assert a.try_acquire_or_renew()
    for _ in range(20):
        clock.now += 2
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()


def test_release_lets_the_next_candidate_in_at_once() -> None:
    leases, clock = Leases(), Clock()
    a, b = _elector(leases, clock, "a"), _elector(leases, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert b.try_acquire_or_renew()
    assert b.holder() == "b"


def test_a_newcomer_waits_a_full_lease_duration_after_first_seeing_a_record() -> None:
    leases, clock = Leases(), Clock()
    a = _elector(leases, clock, "a")
    assert a.try_acquire_or_renew()
    clock.now += 60  # a crashed long ago, but b has only just looked
    b = _elector(leases, clock, "b")
    assert not b.try_acquire_or_renew()
    clock.now += 15
    assert b.try_acquire_or_renew()


def test_racing_writers_cannot_both_win() -> None:
    leases, clock = Leases(), Clock()
    a, b = _elector(leases, clock, "a"), _elector(leases, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b first sees a's record now
    clock.now += 16
    stale = leases.get("Lease", "petset-operator")
    assert b.try_acquire_or_renew()  # unchanged for 16 s on b's clock: expired
    stale["spec"]["holderIdentity"] = "c"
    try:
        leases.update(stale)
        raise AssertionError("a stale write must conflict")
    except ConflictError:
        pass
    assert leases.objs["petset-operator"]["spec"]["holderIdentity"] == "b"

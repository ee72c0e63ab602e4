"""What the MySQL controller remembers between passes: dirty marks, quiet
passes by pulses, silence counted from the first unanswered pulse."""

from __future__ import annotations

import time

import pytest

from petset.api.meta import Obj, ObjectKey
from petset.engines.mysql import sql
from petset.engines.mysql.links import Links, Pulse
from petset.engines.mysql.memory import REPLICA_PULSE_EVERY, ClusterMemory, Memory, fingerprint

KEY = ObjectKey("MySQLCluster", "default", "db")
PRIMARY = Pulse(read_only=False, semi_sync_on=True, replicating=False)
REPLICA = Pulse(read_only=True, semi_sync_on=False, replicating=True)


class FakeLink:
    def __init__(self, answers: dict[str, Pulse | None], host: str, asked: list[str]) -> None:
        self.answers, self.host, self.asked = answers, host, asked

    def pulse(self) -> Pulse:
        self.asked.append(self.host)
        got = self.answers[self.host]
        if got is None:
            raise sql.MemberUnreachable(f"{self.host}: timed out")
        return got


class FakeLinks(Links):
    def __init__(self, answers: dict[str, Pulse | None]) -> None:
        super().__init__()
        self.answers = answers
        self.asked: list[str] = []

    def get(self, host: str, creds: sql.Credentials) -> FakeLink:  # type: ignore[override]
        return FakeLink(self.answers, host, self.asked)


def settled(answers: dict[str, Pulse | None]) -> tuple[ClusterMemory, FakeLinks]:
    links = FakeLinks(answers)
    mem = ClusterMemory(links=links, creds=sql.Credentials("a", "b"))
    mem.dirty = False
    mem.settle("healthy: db-0 is primary", {
        "db-0": ("10.0.0.1", PRIMARY), "db-1": ("10.0.0.2", REPLICA), "db-2": ("10.0.0.3", REPLICA),
    })  # fmt: skip
    return mem, links


def cluster(
    generation: int = 1, annotations: dict[str, str] | None = None, **status: object
) -> Obj:
    md = {"name": "db", "namespace": "default", "uid": "u1", "generation": generation}
    return {"metadata": {**md, "annotations": annotations or {}}, "status": dict(status)}


def test_a_fresh_cluster_is_not_quiet_until_a_full_pass_settles_it() -> None:
    mem = ClusterMemory()
    assert not mem.quiet()
    mem, _ = settled({})
    assert mem.quiet()
    mem.dirty = True
    assert not mem.quiet()


def test_status_writes_do_not_make_a_cluster_dirty_but_spec_and_annotations_do() -> None:
    memory = Memory()
    mem = memory.of(KEY)
    mem.fingerprint, mem.dirty = fingerprint(cluster()), False
    memory.note_cluster(cluster(primary="db-1", message="healthy"), KEY)
    assert not mem.dirty
    memory.note_cluster(cluster(annotations={"petset.dev/switchover-to": "auto"}), KEY)
    assert mem.dirty
    mem.dirty = False
    memory.note_cluster(cluster(generation=2), KEY)
    assert mem.dirty


def test_pulses_ask_the_primary_every_beat_and_replicas_every_few() -> None:
    mem, links = settled({"10.0.0.1": PRIMARY, "10.0.0.2": REPLICA, "10.0.0.3": REPLICA})
    for _ in range(REPLICA_PULSE_EVERY):
        assert mem.heartbeat()
    assert links.asked.count("10.0.0.1") == REPLICA_PULSE_EVERY
    assert links.asked.count("10.0.0.2") == 1
    assert links.asked[-3] == "10.0.0.1"  # the primary first


def test_a_primary_that_changed_or_fell_silent_ends_the_quiet() -> None:
    mem, _ = settled({"10.0.0.1": Pulse(False, False, False)})
    assert not mem.heartbeat()  # semi-sync went off: a full pass must look
    before = time.time()
    mem, _ = settled({"10.0.0.1": None})
    assert not mem.heartbeat()
    assert mem.silent_since["db-0"] >= before - 0.01


def test_a_semisync_primary_pulse_counts_as_seen() -> None:
    mem, _ = settled({"10.0.0.1": PRIMARY})
    assert mem.heartbeat()
    assert time.monotonic() - mem.semisync_seen < 1


@pytest.mark.parametrize("replicas_answer", [None, Pulse(True, False, False)])
def test_a_replica_that_stopped_replicating_ends_the_quiet(replicas_answer: Pulse | None) -> None:
    mem, _ = settled({"10.0.0.1": PRIMARY, "10.0.0.2": replicas_answer, "10.0.0.3": REPLICA})
    results = [mem.heartbeat() for _ in range(REPLICA_PULSE_EVERY)]
    assert results[-1] is False

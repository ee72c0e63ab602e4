"""Replication topology decisions, from snapshots (no servers)."""

from __future__ import annotations

from petset.engines.mysql.gtid import GtidPosition, most_advanced
from petset.engines.mysql.sql import MemberStatus, ReplicaStatus
from petset.engines.mysql.topology import (
    Attach,
    Bootstrap,
    Failover,
    Fence,
    Label,
    MemberView,
    Nothing,
    Promote,
    Reclone,
    Snapshot,
    Switchover,
    choose_candidate,
    decide,
)

P = GtidPosition.parse


def status(
    binlog: str = "", applied: str = "", *, read_only: bool = True, source: str | None = None
) -> MemberStatus:
    rep = None
    if source is not None:
        rep = ReplicaStatus(source, "Yes", True, "", "", 0, P(applied))
    return MemberStatus(100, "10.11", read_only, P(binlog), P(binlog), P(applied), rep, True, 2)


def view(i: int, st: MemberStatus | None, **kw: object) -> MemberView:
    defaults: dict[str, object] = {"running": True, "role_label": None}
    defaults.update(kw)
    return MemberView(f"db-{i}", i, f"127.0.0.{i + 1}", status=st, **defaults)  # type: ignore[arg-type]


def healthy_trio(**kw0: object) -> list[MemberView]:
    return [
        view(0, status("0-100-10", read_only=False), role_label="primary", **kw0),
        view(1, status("0-100-10", "0-100-10", source="127.0.0.1"), role_label="replica"),
        view(2, status("0-100-9", "0-100-9", source="127.0.0.1"), role_label="replica"),
    ]


def snap(members: list[MemberView], **kw: object) -> Snapshot:
    base: dict[str, object] = {
        "primary": "db-0",
        "initialized": True,
        "semi_sync": True,
        "primary_was_semi_sync": True,
    }
    base.update(kw)
    return Snapshot(tuple(members), **base)  # type: ignore[arg-type]


def test_gtid_positions_order_per_domain() -> None:
    assert P("0-1-10,1-2-5").contains(P("0-1-9"))
    assert not P("0-1-10").contains(P("0-1-10,1-2-1"))
    assert P("0-1-3").behind(P("0-1-10")) == 7
    assert most_advanced({"a": P("0-1-5"), "b": P("0-1-7")}) == ("b", True)
    assert most_advanced({"a": P("0-1-5,1-1-1"), "b": P("0-1-7")}) == (None, False)


def test_new_cluster_bootstraps_the_lowest_ordinal() -> None:
    members = [view(0, status()), view(1, None, running=False)]
    d = decide(snap(members, primary=None, initialized=False))
    assert d.action == Bootstrap("db-0")


def test_new_cluster_waits_for_member_zero() -> None:
    d = decide(snap([view(0, None)], primary=None, initialized=False))
    assert isinstance(d.action, Nothing) and "waiting" in d.message


def test_replica_not_replicating_is_attached() -> None:
    members = healthy_trio()
    members[2] = view(2, status("0-100-9", "0-100-9"))
    d = decide(snap(members))
    assert d.action == Attach("db-2", "db-0", adopt_own_binlog=False)


def test_replica_whose_io_thread_stopped_without_an_error_is_attached_again() -> None:
    members = healthy_trio()
    stopped_io = ReplicaStatus("127.0.0.1", "No", True, "", "", 0, P("0-100-9"))
    pos = P("0-100-9")
    st = MemberStatus(100, "10.11", True, pos, pos, pos, stopped_io, True, 2)
    members[2] = view(2, st, role_label="replica")
    d = decide(snap(members))
    assert d.action == Attach("db-2", "db-0", adopt_own_binlog=False)


def test_former_primary_rejoins_adopting_its_own_binlog() -> None:
    members = [
        view(0, status("0-100-12", "0-100-12", read_only=False), role_label="primary"),
        view(1, status("0-100-12", ""), role_label=None),  # old primary: binlog, no applied
    ]
    d = decide(snap(members))
    assert d.action == Attach("db-1", "db-0", adopt_own_binlog=True)


def test_diverged_member_is_recloned_not_attached() -> None:
    members = [
        view(0, status("0-100-12", read_only=False), role_label="primary"),
        view(1, status("0-100-12,0-101-13", "")),
    ]
    # strict mode: domain 0 seq 13 > 12, so db-1 has a transaction db-0 lacks
    members[1] = view(1, status("0-101-13", ""))
    d = decide(snap(members))
    assert d.action == Reclone("db-1", verify_divergence=True) and "diverged" in d.message


def test_roles_are_labelled_when_topology_is_right() -> None:
    members = healthy_trio()
    members[1] = view(1, status("0-100-10", "0-100-10", source="127.0.0.1"))
    d = decide(snap(members))
    assert d.action == Label({"db-0": "primary", "db-1": "replica", "db-2": "replica"})
    assert decide(snap(healthy_trio())).message.startswith("healthy")


def test_dead_primary_process_fails_over_at_once() -> None:
    members = healthy_trio()
    members[0] = view(0, None, running=False, role_label="primary")
    d = decide(snap(members))
    assert d.action == Failover("db-0", ("db-1", "db-2"))


def test_hung_primary_is_fenced_only_after_the_grace() -> None:
    members = healthy_trio()
    members[0] = view(0, None, unreachable_for=1.0)
    assert isinstance(decide(snap(members)).action, Nothing)
    members[0] = view(0, None, unreachable_for=3.5)
    assert decide(snap(members)).action == Fence("db-0")


def test_failover_blocked_when_primary_was_asynchronous() -> None:
    members = healthy_trio()
    members[0] = view(0, None, running=False)
    d = decide(snap(members, primary_was_semi_sync=False))
    assert d.blocked and isinstance(d.action, Nothing)
    assert "asynchronously" in d.message and "--to" in d.message


def test_failover_blocked_while_a_replica_is_unreachable() -> None:
    members = healthy_trio()
    members[0] = view(0, None, running=False)
    members[2] = view(2, None, running=False)
    d = decide(snap(members))
    assert d.blocked and "db-2" in d.message


def test_forced_failover_goes_to_the_named_member() -> None:
    members = healthy_trio()
    members[0] = view(0, None, running=False)
    members[2] = view(2, None, running=False)
    d = decide(snap(members, forced_candidate="db-1"))
    assert d.action == Failover("db-0", ("db-1",))


def test_restarted_primary_made_writable_when_nobody_is_ahead() -> None:
    members = healthy_trio()
    members[0] = view(0, status("0-100-10", read_only=True), role_label="primary")
    assert decide(snap(members)).action == Promote("db-0")


def test_restarted_primary_behind_a_replica_triggers_failover() -> None:
    members = healthy_trio()
    members[0] = view(0, status("0-100-9", read_only=True))
    d = decide(snap(members))
    assert isinstance(d.action, Failover)


def test_candidate_is_most_advanced_then_lowest_ordinal() -> None:
    ords = {"db-1": 1, "db-2": 2}
    assert choose_candidate({"db-1": P("0-100-9"), "db-2": P("0-100-10")}, ords) == "db-2"
    assert choose_candidate({"db-1": P("0-100-10"), "db-2": P("0-100-10")}, ords) == "db-1"
    assert choose_candidate({"db-1": P("0-100-10,1-1-1"), "db-2": P("0-100-11")}, ords) is None


def test_switchover_auto_picks_the_most_advanced_healthy_replica() -> None:
    d = decide(snap(healthy_trio(), switchover_to="auto"))
    assert d.action == Switchover("db-0", "db-1")
    d = decide(snap(healthy_trio(), switchover_to="db-2"))
    assert d.action == Switchover("db-0", "db-2")


def test_switchover_to_an_unhealthy_member_is_refused() -> None:
    members = healthy_trio()
    members[2] = view(2, None, running=False, role_label="replica")
    d = decide(snap(members, switchover_to="db-2"))
    assert d.blocked and "not a healthy replica" in d.message


def test_primary_restarted_in_place_is_lost_and_fails_over() -> None:
    members = healthy_trio()
    members[0] = view(0, None, restarts=1, role_label="primary")  # crash recovery running
    d = decide(snap(members, primary_restarts=0))
    assert d.action == Failover("db-0", ("db-1", "db-2"))
    assert isinstance(decide(snap(healthy_trio(), primary_restarts=0)).action, Nothing)


def test_replica_with_a_replication_error_is_recloned() -> None:
    members = healthy_trio()
    broken = ReplicaStatus("127.0.0.1", "Yes", False, "", "Duplicate entry '7'", None, P("0-100-9"))
    st = MemberStatus(100, "10.11", True, P("0-100-9"), P("0-100-9"), P("0-100-9"), broken, True, 0)
    members[2] = view(2, st, role_label="replica")
    d = decide(snap(members))
    assert d.action == Reclone("db-2") and "Duplicate entry" in d.message


def test_crashlooping_replica_is_recloned_while_the_primary_runs() -> None:
    members = healthy_trio()
    members[1] = view(1, None, running=False, crashlooping=True, restarts=3)
    d = decide(snap(members))
    assert d.action == Reclone("db-1") and "keeps crashing" in d.message
    members[1] = view(1, None, running=False, crashlooping=True, restarts=1)
    assert not isinstance(decide(snap(members)).action, Reclone)


def test_after_a_full_crash_the_restarted_old_primary_competes() -> None:
    members = healthy_trio()
    members[0] = view(0, status("0-100-11", read_only=True), restarts=1)
    d = decide(snap(members, primary_restarts=0))
    assert d.action == Failover("db-0", ("db-1", "db-2", "db-0"))
    ords = {"db-0": 0, "db-1": 1, "db-2": 2}
    tie = {"db-0": P("0-100-10"), "db-1": P("0-100-10"), "db-2": P("0-100-9")}
    assert choose_candidate(tie, ords, avoid="db-0") == "db-1"
    ahead = {"db-0": P("0-100-11"), "db-1": P("0-100-10"), "db-2": P("0-100-9")}
    assert choose_candidate(ahead, ords, avoid="db-0") == "db-0"


def test_after_a_daemon_restart_a_dead_primary_is_waited_for() -> None:
    members = healthy_trio()
    members[0] = view(0, None, running=True, restarts=1)  # restarting, not answering yet
    d = decide(snap(members, primary_restarts=0, semi_sync_seen_recently=False))
    assert d.blocked and isinstance(d.action, Nothing) and "waiting for db-0" in d.message
    members[0] = view(0, status("0-100-12", read_only=True), restarts=1)  # back
    d = decide(snap(members, primary_restarts=0, semi_sync_seen_recently=False))
    assert d.action == Failover("db-0", ("db-1", "db-2", "db-0"))


def test_a_primary_the_node_has_not_stopped_yet_is_waited_for() -> None:
    # Fenced (pod deleted) but the node still reports mariadbd running: a client
    # connected to it directly could still commit, so nobody is promoted yet.
    members = healthy_trio()
    members[0] = view(0, None, stopping=True, unreachable_for=5.0)
    d = decide(snap(members))
    assert isinstance(d.action, Nothing)
    assert "waiting for the node to stop db-0" in d.message
    assert not d.quiet


def test_a_forced_failover_does_not_wait_for_the_node() -> None:
    members = healthy_trio()
    members[0] = view(0, None, stopping=True, running=False)
    d = decide(snap(members, forced_candidate="db-1"))
    assert d.action == Failover("db-0", ("db-1",))


def test_once_stopped_the_fenced_primary_is_failed_over() -> None:
    members = healthy_trio()
    members[0] = view(0, None, running=False)
    d = decide(snap(members))
    assert isinstance(d.action, Failover)


def test_only_a_healthy_cluster_with_nothing_to_do_is_quiet() -> None:
    assert decide(snap(healthy_trio())).quiet
    members = healthy_trio()
    members[0] = view(0, None, unreachable_for=0.5)
    assert not decide(snap(members)).quiet

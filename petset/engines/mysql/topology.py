"""Replication topology decisions: a snapshot in, one action and a sentence out.

Pure, in the manner of Patroni's HA loop: guard clauses in order of
precedence, each returning a `Decision` whose `message` goes to the log, the
cluster's status and the tests. Never act on an uncertain state: `Block`
says what the user can do instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from petset.engines.mysql.gtid import GtidPosition, most_advanced
from petset.engines.mysql.sql import MemberStatus

# A primary that answers no SQL for this long while its process runs is hung:
# at least two attempts (a pulse and an observation, sql.OBSERVE_TIMEOUT each).
HUNG_AFTER_SECONDS = 2.0
# A cluster that is not entirely healthy is looked at this often; a healthy one
# is pulsed every memory.HEARTBEAT instead. Faults do not wait for either: a
# pod's status change (process exit, failed readiness probe) starts a pass at once.
HEALTHY_RESYNC = 3.0
# A replica whose server crashes this many times in a row is re-cloned.
CRASHLOOP_RECLONE_AFTER = 3


@dataclass(frozen=True)
class MemberView:
    name: str
    ordinal: int
    ip: str | None
    pod_exists: bool = True
    running: bool = False  # the mariadbd container is running
    role_label: str | None = None
    status: MemberStatus | None = None  # None: did not answer SQL
    unreachable_for: float = 0.0  # seconds without an SQL answer while running
    unreachable_since: float | None = None  # epoch seconds: the first unanswered attempt
    restarts: int = 0  # the mariadbd container's restartCount
    crashlooping: bool = False  # mariadbd waits in CrashLoopBackOff
    # the pod is being deleted and the node still reports mariadbd running: it
    # may still accept writes until the node confirms it stopped
    stopping: bool = False
    # the pod's Ready condition: Services (rw, ro) route to it only when True
    serving: bool = True

    @property
    def reachable(self) -> bool:
        return self.status is not None

    @property
    def position(self) -> GtidPosition:
        return self.status.position if self.status else GtidPosition()


@dataclass(frozen=True)
class Snapshot:
    members: tuple[MemberView, ...]
    primary: str | None  # status.primary: who petset made primary last
    initialized: bool
    semi_sync: bool  # spec.semiSync
    primary_was_semi_sync: bool  # last observation of the primary: semi-sync ON
    # This controller saw the primary semi-synchronous moments ago. False after a
    # daemon restart: while it was away the primary may have gone asynchronous
    # (e.g. every member stopping at once) and acknowledged writes no replica has.
    semi_sync_seen_recently: bool = True
    forced_candidate: str | None = None  # `petset mysql failover --to` (user takes the risk)
    # restartCount of the primary's mariadbd when petset last saw it serve as primary:
    # a higher count means it died and was restarted in place since.
    primary_restarts: int | None = None
    # spec.replicas: members at this ordinal or above are being removed (scale in)
    keep_below: int | None = None
    switchover_to: str | None = None  # `petset mysql switchover [--to]`: a name or "auto"

    def member(self, name: str | None) -> MemberView | None:
        return next((m for m in self.members if m.name == name), None)


# -- actions ------------------------------------------------------------------------
@dataclass(frozen=True)
class Bootstrap:
    member: str


@dataclass(frozen=True)
class Attach:
    member: str
    source: str
    adopt_own_binlog: bool


@dataclass(frozen=True)
class Label:
    roles: dict[str, str]  # member -> primary|replica


@dataclass(frozen=True)
class Fence:
    member: str  # delete the pod now: a hung primary must not come back writable


@dataclass(frozen=True)
class Failover:
    old: str
    candidates: tuple[str, ...]  # drained, then the most advanced is promoted


@dataclass(frozen=True)
class Promote:
    member: str  # make the recorded primary writable again


@dataclass(frozen=True)
class Reclone:
    member: str  # a replica whose data diverged or broke: set it aside, clone again
    # "diverged" is judged from two observations made at slightly different
    # moments: the controller checks it again (replica first, primary second).
    verify_divergence: bool = False


@dataclass(frozen=True)
class Switchover:
    old: str
    new: str


@dataclass(frozen=True)
class Nothing:
    pass


Action = Bootstrap | Attach | Label | Fence | Failover | Promote | Switchover | Reclone | Nothing


@dataclass(frozen=True)
class Decision:
    action: Action
    message: str
    blocked: bool = False
    requeue_after: float | None = None
    notes: tuple[str, ...] = field(default=())
    # the topology needs nothing: lifecycle work (rollout, fencing, config) may go on
    settled: bool = False
    # healthy and nothing to do: pulses may stand in for full passes (memory.py)
    quiet: bool = False


def _primary_lost(p: MemberView | None, restarts: int | None) -> tuple[bool, bool]:
    """(lost, needs_fence): the primary cannot serve writes; hung ones must be fenced.

    A primary whose process died is lost even when the kubelet already restarted
    it: promoting a replica (~0.1 s) beats waiting for crash recovery, and the
    restarted member comes back read-only to rejoin as a replica.
    """
    if p is None or not p.pod_exists or not p.running:
        return True, False
    if restarts is not None and p.restarts > restarts:
        return True, False
    if p.status is None and p.unreachable_for >= HUNG_AFTER_SECONDS:
        return True, True
    return False, False


def decide(snap: Snapshot) -> Decision:
    members = {m.name: m for m in snap.members}
    if not snap.initialized or snap.primary is None:
        first = min(snap.members, key=lambda m: m.ordinal, default=None)
        if first is None or not first.reachable:
            return Decision(Nothing(), "waiting for the first member to start", requeue_after=1)
        return Decision(Bootstrap(first.name), f"bootstrapping {first.name} as the first primary")

    primary = members.get(snap.primary)
    if primary is not None and primary.stopping and not snap.forced_candidate:
        # A fenced (or deleted) primary is unlabelled, but clients connected to
        # it directly could still commit until its process is gone.
        return Decision(
            Nothing(),
            f"waiting for the node to stop {primary.name} before promoting another member",
            requeue_after=0.2,
        )
    lost, fence = _primary_lost(primary, snap.primary_restarts)
    if fence:
        return Decision(Fence(snap.primary), f"{snap.primary} is hung: fencing it")
    if lost:
        return _failover(snap, members)
    assert primary is not None
    if primary.status is None:
        return Decision(
            Nothing(),
            f"{primary.name} does not answer SQL ({primary.unreachable_for:.0f}s); watching it",
            requeue_after=0.5,
        )
    if primary.status.read_only and primary.status.replica is None:
        # Restarted in place (members always start read-only): writable again
        # only if no other member got ahead of it in the meantime.
        ahead = [
            m.name
            for m in snap.members
            if m.reachable and m.name != primary.name and not primary.position.contains(m.position)
        ]
        if ahead:
            return _failover(snap, members)
        return Decision(Promote(primary.name), f"{primary.name} restarted: making it writable")
    for m in sorted(snap.members, key=lambda m: m.ordinal):
        if m.name != primary.name and m.crashlooping and m.restarts >= CRASHLOOP_RECLONE_AFTER:
            return Decision(
                Reclone(m.name),
                f"{m.name}'s mariadbd keeps crashing ({m.restarts} restarts) while "
                f"{primary.name} runs fine with the same configuration: re-cloning it, its "
                "old data kept aside until the clone succeeds",
            )
        if m.name == primary.name or not m.reachable:
            continue
        assert m.status is not None
        rep = m.status.replica
        if rep is not None and rep.last_sql_error and not rep.sql_running:
            return Decision(
                Reclone(m.name),
                f"{m.name} stopped replicating ({rep.last_sql_error[:120]}): re-cloning it, "
                "its old data kept aside until the clone succeeds",
            )
        # An IO thread stopped with no error is started again too: a donor's
        # mariadb-backup --safe-slave-backup restarts only the SQL thread, and an
        # attach racing it (STOP SLAVE, then a refused CHANGE MASTER) left one so.
        stopped = rep is None or not rep.sql_running or rep.io_running == "No"
        if rep is None or stopped or rep.source_host != primary.ip:
            if not primary.position.contains(m.status.binlog):
                return Decision(
                    Reclone(m.name, verify_divergence=True),
                    f"{m.name} has transactions {snap.primary} lacks (diverged): re-cloning "
                    "it, its old data kept aside until the clone succeeds",
                )
            adopt = not m.status.binlog.empty and not m.status.applied.contains(m.status.binlog)
            return Decision(
                Attach(m.name, primary.name, adopt), f"attaching {m.name} to {primary.name}"
            )
    roles = {
        m.name: ("primary" if m.name == primary.name else "replica")
        for m in snap.members
        if m.pod_exists and (m.reachable or m.name == primary.name)
    }
    if any(members[n].role_label != r for n, r in roles.items()):
        return Decision(Label(roles), "updating role labels")
    if snap.switchover_to:
        return _switchover(snap, primary)
    if snap.keep_below is not None and primary.ordinal >= snap.keep_below:
        return _switchover(snap, primary, below=snap.keep_below)
    return Decision(
        Nothing(),
        f"healthy: {primary.name} is primary",
        requeue_after=HEALTHY_RESYNC,
        settled=True,
        quiet=True,
    )


def _switchover(snap: Snapshot, primary: MemberView, *, below: int | None = None) -> Decision:
    """A planned change of primary, only between healthy members: the target
    must be replicating from the primary right now. `below`: a scale-in is
    removing the primary's ordinal, so the target must stay."""
    healthy = [
        m
        for m in snap.members
        if m.name != primary.name
        and (below is None or m.ordinal < below)
        and m.status is not None
        and m.status.replica is not None
        and m.status.replica.healthy
    ]
    wanted = snap.switchover_to if below is None else "auto"
    if wanted == primary.name:
        return Decision(Nothing(), f"switchover: {primary.name} already is the primary")
    if wanted != "auto":
        target = next((m for m in healthy if m.name == wanted), None)
        if target is None:
            return Decision(
                Nothing(),
                f"switchover to {wanted} refused: it is not a healthy replica "
                f"(healthy: {', '.join(m.name for m in healthy) or 'none'})",
                blocked=True,
                requeue_after=2,
            )
    elif not healthy:
        return Decision(
            Nothing(), "switchover refused: no healthy replica", blocked=True, requeue_after=2
        )
    else:
        target = max(healthy, key=lambda m: (sum(g.seq for g in m.position.gtids), -m.ordinal))
    why = "" if below is None else f" (scaling in to {below} members removes {primary.name})"
    return Decision(
        Switchover(primary.name, target.name),
        f"switching over from {primary.name} to {target.name}{why}",
    )


def _failover(snap: Snapshot, members: dict[str, MemberView]) -> Decision:
    old = snap.primary or ""
    others = [m for m in snap.members if m.name != old]
    reachable = [m for m in others if m.reachable and m.status is not None]
    if snap.forced_candidate:
        if snap.forced_candidate not in {m.name for m in reachable}:
            return Decision(
                Nothing(),
                f"forced failover to {snap.forced_candidate}: it is not reachable",
                blocked=True,
                requeue_after=2,
            )
        return Decision(
            Failover(old, (snap.forced_candidate,)),
            f"{old} is down: failing over to {snap.forced_candidate} as the user forced",
        )
    back = members.get(old)
    if back is not None and back.reachable and reachable:
        # The old primary is back (read-only): it holds every write it ever
        # acknowledged, so the most advanced of all of them loses nothing.
        names = ", ".join(m.name for m in [*reachable, back])
        return Decision(
            Failover(old, tuple(m.name for m in [*reachable, back])),
            f"{old} restarted: failing over to the most advanced of {names}",
        )
    if not reachable:
        return Decision(
            Nothing(), f"{old} is down and no other member answers: waiting", requeue_after=1
        )
    if not snap.semi_sync_seen_recently:
        return Decision(
            Nothing(),
            f"{old} is down and petset did not see it replicate semi-synchronously just "
            "before (the daemon was not running): acknowledged writes may exist only on it; "
            f"waiting for {old} to come back (or `petset mysql failover CLUSTER --to MEMBER`)",
            blocked=True,
            requeue_after=1,
        )
    missing = [m.name for m in others if not m.reachable]
    if not snap.semi_sync or not snap.primary_was_semi_sync:
        return Decision(
            Nothing(),
            f"{old} is down and was replicating asynchronously: acknowledged writes may "
            f"exist only on it. Bring {old} back, or run `petset mysql failover CLUSTER "
            f"--to MEMBER` to accept losing them",
            blocked=True,
            requeue_after=2,
        )
    if missing:
        return Decision(
            Nothing(),
            f"{old} is down and {', '.join(missing)} cannot be reached: the newest "
            "acknowledged writes may be there only; waiting for them "
            f"(or `petset mysql failover CLUSTER --to MEMBER`)",
            blocked=True,
            requeue_after=1,
        )
    names = ", ".join(m.name for m in reachable)
    return Decision(
        Failover(old, tuple(m.name for m in reachable)),
        f"{old} is down: failing over to the most advanced of {names}",
    )


def choose_candidate(
    positions: dict[str, GtidPosition], ordinals: dict[str, int], *, avoid: str | None = None
) -> str | None:
    """After draining: the member holding every other's transactions (lowest
    ordinal among equals, `avoid` — the old primary — last); None when
    histories diverged."""
    best, _unique = most_advanced(positions)
    if best is None:
        return None
    equal = [n for n, p in positions.items() if p.contains(positions[best])]
    return min(equal, key=lambda n: (n == avoid, ordinals.get(n, 0)))

"""Lifecycle decisions: rolling restarts (upgrade, static reconfigure), fencing
and hibernation. Pure, like topology.py: a view in, one action and a sentence out.

The StatefulSet's updateStrategy is OnDelete, so a new revision (a changed
image, pod template or static parameter) changes nothing until the engine
deletes a member's pod. `plan_rollout` chooses which, one at a time: replicas
first (broken ones, then the highest ordinal), then a switchover, then the old
primary; a member that is not healthy and caught up within the timeout halts
the rollout there until the spec changes again (`petset rollout undo`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from petset.engines.mysql.topology import MemberView, Switchover

# A restarted member whose server crashed this many times is broken: halt now
# rather than wait out the timeout.
CRASH_RESTARTS = 3
# Spec fields whose change is a new revision (what `rollout undo` restores).
REVISION_FIELDS = ("version", "image", "podTemplate", "config")
# A waking cluster waits this long for the primary it had before hibernating.
WAKE_TIMEOUT = 120.0


@dataclass(frozen=True)
class Member:
    name: str
    ordinal: int
    revision: str | None  # the pod's controller-revision-hash; None: no pod
    healthy: bool  # serving: the primary writable, a replica replicating and caught up
    restarts: int = 0  # the mariadbd container's restartCount
    fenced: bool = False


@dataclass(frozen=True)
class Restarting:
    """The member the rollout deleted last, from status.rollout.restarting."""

    member: str
    revision: str
    since: float


@dataclass(frozen=True)
class RolloutView:
    members: tuple[Member, ...]
    primary: str | None
    update_revision: str | None  # the StatefulSet's status.updateRevision
    observed: bool  # the StatefulSet controller has seen its current template
    restarting: Restarting | None
    halted_revision: str | None  # the revision a halted rollout stopped at
    started_primary: str | None  # the primary when this rollout began
    timeout: float
    now: float

    def member(self, name: str | None) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


@dataclass(frozen=True)
class RestartMember:
    member: str
    revision: str


@dataclass(frozen=True)
class Halt:
    member: str


@dataclass(frozen=True)
class Wait:
    pass


@dataclass(frozen=True)
class Complete:
    pass


RolloutAction = RestartMember | Switchover | Halt | Wait | Complete


@dataclass(frozen=True)
class RolloutDecision:
    action: RolloutAction
    message: str
    outdated: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool:
        return not isinstance(self.action, Complete)


def _role(view: RolloutView, name: str) -> str:
    if name == view.primary:
        return "the primary"
    if name == view.started_primary:
        return "the old primary"
    return "replica"


def _check_restarting(view: RolloutView) -> RolloutDecision | None:
    """The member deleted last: back and healthy (None: go on), still coming, or broken."""
    r = view.restarting
    if r is None or r.revision != view.update_revision:
        return None  # nothing pending, or the target changed (undo): start over
    m = view.member(r.member)
    if m is not None and m.revision == r.revision and m.healthy:
        return None
    waited = view.now - r.since
    crashed = m is not None and m.revision == r.revision and m.restarts >= CRASH_RESTARTS
    if crashed or waited > view.timeout:
        why = (
            f"its server crashed {m.restarts if m else 0} times"
            if crashed
            else f"not healthy and caught up {waited:.0f}s after its restart"
        )
        return RolloutDecision(
            Halt(r.member),
            f"rollout to revision {r.revision} halted at {r.member}: {why}; the other "
            "members keep the previous revision. Fix the spec, or return to the previous "
            "revision with `petset rollout undo mysqlcluster/NAME`",
        )
    return RolloutDecision(
        Wait(), f"waiting for {r.member} to come back healthy at {r.revision} ({waited:.0f}s)"
    )


def plan_rollout(view: RolloutView) -> RolloutDecision:
    rev = view.update_revision
    if rev is None or not view.observed:
        return RolloutDecision(Wait(), "waiting for the StatefulSet to observe its template")
    live = [m for m in view.members if not m.fenced]
    outdated = tuple(m.name for m in live if m.revision != rev)
    if view.halted_revision == rev:
        return RolloutDecision(
            Halt(view.restarting.member if view.restarting else "?"),
            f"rollout to revision {rev} is halted at "
            f"{view.restarting.member if view.restarting else 'a member'}; change the spec or "
            "`petset rollout undo mysqlcluster/NAME`",
            outdated,
        )
    pending = _check_restarting(view)
    if pending is not None:
        return RolloutDecision(pending.action, pending.message, outdated)
    if not outdated:
        return RolloutDecision(Complete(), f"every member runs revision {rev}")
    stale = [m for m in live if m.name in outdated]
    replicas = [m for m in stale if m.name != view.primary]
    # A broken replica serves nothing: replacing it first costs no availability.
    broken = sorted((m for m in replicas if not m.healthy), key=lambda m: -m.ordinal)
    if broken:
        return _restart(view, broken[0], rev, outdated)
    waiting = [m.name for m in live if not m.healthy]
    if waiting:
        return RolloutDecision(
            Wait(),
            f"rollout to {rev} waits for {', '.join(waiting)} to be healthy before the "
            "next restart",
            outdated,
        )
    if replicas:
        return _restart(view, max(replicas, key=lambda m: m.ordinal), rev, outdated)
    primary = view.member(view.primary)
    assert primary is not None  # the primary is the only outdated member left
    targets = [m for m in live if m.name != primary.name and m.revision == rev]
    if not targets:
        return _restart(view, primary, rev, outdated, note=" (no replica to switch over to)")
    target = min(targets, key=lambda m: m.ordinal)
    return RolloutDecision(
        Switchover(primary.name, target.name),
        f"rollout to {rev}: every replica is updated; switching over from {primary.name} "
        f"to {target.name} before restarting {primary.name}",
        outdated,
    )


def _restart(
    view: RolloutView, m: Member, rev: str, outdated: tuple[str, ...], note: str = ""
) -> RolloutDecision:
    done = len([x for x in view.members if not x.fenced]) - len(outdated)
    return RolloutDecision(
        RestartMember(m.name, rev),
        f"restarting {m.name} ({_role(view, m.name)}) for revision {rev}{note}: "
        f"{done}/{done + len(outdated)} members updated",
        outdated,
    )


# -- revisions: what `rollout undo` returns to -------------------------------------------
def revision_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The part of a MySQLCluster spec that makes a revision."""
    return {k: spec.get(k) for k in REVISION_FIELDS}


def record_revision(record: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """status.rollout's current/previous after a completed rollout to `spec`."""
    now = revision_spec(spec)
    current = record.get("current")
    if current == now:
        return record
    out = {**record, "current": now}
    if current is not None:
        out["previous"] = current
    return out


def merge_diff(now: Any, target: Any) -> Any:
    """The merge patch (RFC 7386) that turns `now` into `target`."""
    if not isinstance(now, dict) or not isinstance(target, dict):
        return target
    out = {k: None for k in now if k not in target}
    for k, v in target.items():
        if k not in now or now[k] != v:
            out[k] = merge_diff(now.get(k), v)
    return out


def undo_patch(record: dict[str, Any], spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(spec merge patch, sentence) returning to the previous revision: the one
    every member ran before a rollout under way or halted, else the one before."""
    now = revision_spec(spec)
    if record.get("current") is not None and record["current"] != now:
        target, what = record["current"], "the revision every member ran before this rollout"
    elif record.get("previous") is not None:
        target, what = record["previous"], "the previous revision"
    else:
        raise LookupError("no previous revision to return to")
    return merge_diff(now, target), f"rolling back to {what}"


# -- fencing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FenceMember:
    member: str


@dataclass(frozen=True)
class FenceDecision:
    action: FenceMember | None
    message: str
    blocked: bool = False


def plan_fence(
    fenced: frozenset[str], primary: str | None, views: list[MemberView]
) -> FenceDecision:
    """A fenced member gets no traffic (no role label) and replicates nothing."""
    if primary in fenced:
        return FenceDecision(
            None,
            f"{primary} is the primary and cannot be fenced: move the primary first "
            "(`petset mysql switchover CLUSTER`), then fence it",
            blocked=True,
        )
    for v in sorted(views, key=lambda v: v.ordinal):
        if v.name not in fenced or not v.pod_exists:
            continue
        rep = v.status.replica if v.status else None
        replicating = rep is not None and (rep.io_running != "No" or rep.sql_running)
        if v.role_label is not None or replicating:
            return FenceDecision(
                FenceMember(v.name),
                f"fencing {v.name}: no traffic, no replication; its data is kept",
            )
    return FenceDecision(None, "")


def parse_fenced(annotation: str | None) -> frozenset[str]:
    return frozenset(n.strip() for n in (annotation or "").split(",") if n.strip())


# -- hibernation --------------------------------------------------------------------------
def hibernation_step(
    hibernate: bool, state: str | None, pods: int, primary_reachable: bool, waking_for: float
) -> tuple[str | None, str]:
    """(next state, sentence). States: None (awake), Stopping (primary read-only,
    replicas caught up, scaling to 0), Hibernated (no pods, volumes kept),
    Waking (members starting; the topology waits for the old primary)."""
    if hibernate:
        if state is None or state == "Waking":
            return (
                "Stopping",
                "hibernating: primary read-only, replicas caught up, stopping members",
            )
        if pods:
            return "Stopping", f"hibernating: waiting for {pods} pod(s) to stop"
        return "Hibernated", "hibernated: every member stopped, volumes kept"
    if state in ("Stopping", "Hibernated"):
        return "Waking", "waking: starting every member"
    if state == "Waking":
        if primary_reachable:
            return None, "awake: the primary from before hibernation is back"
        if waking_for > WAKE_TIMEOUT:
            return None, (
                f"awake without the old primary: it did not answer within {WAKE_TIMEOUT:.0f}s; "
                "the topology takes over (a failover to the most advanced member)"
            )
        return (
            "Waking",
            f"waking: waiting for the primary from before hibernation ({waking_for:.0f}s)",
        )
    return None, ""

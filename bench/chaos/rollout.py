"""Faults during rollouts: kill -9 of a member or of the daemon while a rolling change runs.

Two kinds of rolling change, each a new StatefulSet revision that the engine
rolls one member at a time (replicas first, then a switchover, the old primary
last): a static parameter of spec.config (`back_log`, which MariaDB reads only
at start) and a podTemplate change (an annotation: the only server version
installed here is Debian's, and spec.version does not reach a local pod's
template). The rollout restarts three members one after the other (two
replicas, then the old primary after a switchover); the round picks one of
those three restarts at random and, 0 to `KILL_JITTER` seconds after it
begins, kills with SIGKILL a random member's mariadbd (the primary, a replica
or the member being restarted) or the daemon.

The round then requires, within `ROLLOUT_BOUND` seconds of the change: every
member's pod on the new revision, status.rollout Complete at that revision,
every member healthy and, for the static change, the new value live on every
server. The writer and the read_only monitor of the suite judge lost writes
and two writable primaries as for every round.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import signal
import time
from collections.abc import Callable

from bench.chaos.cluster import (
    RoundFailed,
    patch_cluster,
    pod_revisions,
    roles,
    rollout_state,
    update_revision,
)
from bench.chaos.faults import kill_daemon
from bench.ha import HA, MEMBERS
from bench.harness import wait_for
from bench.mysqlkit import all_healthy, kill_pid, mariadbd_pid, query

ROLLOUT_BOUND = 240.0
KILL_JITTER = 4.0
RESTARTS = 3  # one per member

# A change returns what it did and a check that it is live on every member.
Change = Callable[[HA], tuple[str, Callable[[], bool]]]

_serial = itertools.count(int(time.time()) % 1000)


def static_change(ha: HA) -> tuple[str, Callable[[], bool]]:
    value = 60 + next(_serial) % 500

    def live() -> bool:
        return all(
            query(ep, "SELECT @@global.back_log")[0][0] == value for ep in ha.members.values()
        )

    patch_cluster(ha, {"spec": {"config": {"back_log": value}}})
    return f"spec.config back_log={value} (static)", live


def template_change(ha: HA) -> tuple[str, Callable[[], bool]]:
    value = str(next(_serial))
    patch = {"metadata": {"annotations": {"chaos.petset.dev/generation": value}}}
    patch_cluster(ha, {"spec": {"podTemplate": patch}})
    return f"spec.podTemplate annotation generation={value}", lambda: True


def kill_random_member(ha: HA) -> str:
    """kill -9 the mariadbd of a random member that has one (a pod being replaced has none)."""
    pids = {m: pid for m in MEMBERS if (pid := mariadbd_pid(ha.d, m)) is not None}
    if not pids:
        return "no member had a mariadbd to kill"
    member = random.choice(sorted(pids))
    role = roles(ha).get(member, "no status")
    restarting = (rollout_state(ha).get("restarting") or {}).get("member")
    kill_pid(pids[member], signal.SIGKILL)
    being = ", the member being restarted" if restarting == member else ""
    return f"kill -9 mariadbd of {member} ({role}{being})"


def no_kill(ha: HA) -> str:
    return "no fault (the baseline for the rounds with one)"


def rollout_done(ha: HA, old: str | None, live: Callable[[], bool]) -> str | None:
    """None when the rollout finished; else what is still missing."""
    new = update_revision(ha)
    if new is None or new == old:
        return "the StatefulSet has no new revision yet"
    revs = pod_revisions(ha)
    behind = sorted(m for m in MEMBERS if revs.get(m) != new)
    if behind:
        return f"members not on revision {new}: {', '.join(behind)}"
    state = rollout_state(ha)
    if state.get("state") != "Complete" or state.get("revision") != new:
        return f"status.rollout is {state.get('state')} at {state.get('revision')}"
    if not all_healthy(ha.d):
        return "not every member healthy"
    if not live():
        return "the new value is not live on every member"
    return None


def wait_stage(ha: HA, stage: int, limit: float) -> str:
    """Wait until the rollout's restart number `stage` (from 0) begins; says where it is."""
    seen: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            state = rollout_state(ha)
            member = (state.get("restarting") or {}).get("member")
            if member and member not in seen:
                seen.append(member)
            if len(seen) > stage:
                return f"restart {stage + 1} of {RESTARTS} under way: {member}"
            if seen and state.get("state") == "Complete":
                return f"rollout complete before restart {stage + 1}"
        time.sleep(0.2)
    return f"restart {stage + 1} not begun within {limit:.0f} s (seen: {seen})"


def during_rollout(change: Change, kill: Callable[[HA], str]) -> Callable[[HA], tuple[str, float]]:
    def fault(ha: HA) -> tuple[str, float]:
        old = update_revision(ha)
        start = time.monotonic()
        what, live = change(ha)
        stage = random.randrange(RESTARTS)
        progress = wait_stage(ha, stage, ROLLOUT_BOUND / 2)
        time.sleep(random.uniform(0, KILL_JITTER))
        delay = time.monotonic() - start
        killed = kill(ha)
        did = f"{what}; {delay:.1f} s later ({progress}): {killed}"
        missing: list[str] = []

        def finished() -> bool:
            missing[:] = [rollout_done(ha, old, live) or ""]
            return not missing[0]

        try:
            wait_for("the rollout to complete", finished, max(ROLLOUT_BOUND - delay, 1), 0.5)
        except TimeoutError as err:
            why = missing[0] if missing else ""
            raise RoundFailed(did, f"{err}: {why}") from err
        took = time.monotonic() - start
        return f"{did}; rollout complete {took:.1f} s after the change", start

    return fault


FAULTS: dict[str, Callable[[HA], tuple[str, float]]] = {
    "rollout-config+no-fault": during_rollout(static_change, no_kill),
    "rollout-config+kill-member": during_rollout(static_change, kill_random_member),
    "rollout-config+kill-daemon": during_rollout(static_change, kill_daemon),
    "rollout-template+kill-member": during_rollout(template_change, kill_random_member),
    "rollout-template+kill-daemon": during_rollout(template_change, kill_daemon),
}

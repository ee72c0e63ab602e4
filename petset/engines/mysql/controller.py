"""The MySQLCluster controller: render the owned objects, observe the members,
decide (topology.py), do at most one topology action (actions.py), write status.

It talks to members only through SQL on their pod IPs and to everything else
through the `Cluster` protocol, so it runs unchanged locally and on Kubernetes.
A healthy cluster with nothing changing costs a pulse a second, not a full
pass (memory.py): events (pod status, owned objects, spec) mark it dirty.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from functools import partial
from typing import Any

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey, controller_ref, labels_of
from petset.api.petset_kinds import MySQLClusterSpec, parse_mysqlcluster
from petset.engines.mysql import lifecycle_ops
from petset.engines.mysql.actions import FORCE_ANNOTATION, SWITCHOVER_ANNOTATION, act
from petset.engines.mysql.backup.bootstrap import spec_bootstrap, track_bootstrap
from petset.engines.mysql.lifecycle import parse_fenced
from petset.engines.mysql.links import Pulse
from petset.engines.mysql.memory import HEARTBEAT, ClusterMemory, Memory, fingerprint
from petset.engines.mysql.observe import Members, ensure_credentials, observe_members
from petset.engines.mysql.render import CLUSTER_LABEL, RenderContext, render_all
from petset.engines.mysql.status import build_status
from petset.engines.mysql.sync import ensure_object
from petset.engines.mysql.topology import (
    Decision,
    MemberView,
    Nothing,
    Snapshot,
    Switchover,
    decide,
)
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result

OWNED = ("StatefulSet", "Service", "ConfigMap", "Secret")


# How recent an observation of the primary in semi-sync mode must be for an
# automatic failover: a quiet cluster's primary is pulsed every HEARTBEAT.
SEMISYNC_FRESH_SECONDS = 15.0


def reconcile(
    cluster: Cluster,
    key: ObjectKey,
    *,
    ctx: RenderContext,
    memory: Memory | None = None,
) -> Result:
    """One pass: a pulse when the cluster is quiet and answers as expected,
    otherwise a full pass. Without `memory` every pass is a full one."""
    mem = memory.of(key) if memory is not None else None
    if mem is not None and mem.quiet() and mem.heartbeat():
        return Result(mem.message, requeue_after=HEARTBEAT)
    if mem is not None:
        mem.dirty = False  # events from here on call for another full pass
    try:
        obj = cluster.get("MySQLCluster", key.name, key.namespace)
    except NotFoundError:
        if memory is not None:
            memory.forget(key)
        return Result(f"MySQLCluster {key.name} is gone")
    if obj["metadata"].get("deletionTimestamp"):
        if memory is not None:
            memory.forget(key)
        return Result("being deleted")
    if mem is None:  # no memory: nothing outlives this pass
        mem = ClusterMemory()
        try:
            return _full_pass(cluster, key, obj, ctx, mem, seen_matters=False)
        finally:
            mem.links.close()
    mem.fingerprint = fingerprint(obj)
    return _full_pass(cluster, key, obj, ctx, mem, seen_matters=True)


def _full_pass(
    cluster: Cluster,
    key: ObjectKey,
    obj: Obj,
    ctx: RenderContext,
    mem: ClusterMemory,
    *,
    seen_matters: bool,
) -> Result:
    spec = parse_mysqlcluster(obj).spec
    status = dict(obj.get("status") or {})
    creds = ensure_credentials(cluster, obj, spec)
    mem.creds = creds.admin
    # Scale in never removes the primary: the set keeps its ordinal until a
    # switchover moved the primary below the new size.
    primary = status.get("primary")
    members = max(spec.replicas, int(primary.rsplit("-", 1)[1]) + 1 if primary else 0)
    # hibernating: the StatefulSet goes to 0 once the primary is quiesced (PVCs stay)
    asleep = spec.hibernate and (status.get("hibernation") or {}).get("state") in (
        "Stopping", "Hibernated",
    )  # fmt: skip
    for desired in render_all(
        obj, spec, ctx, initialized=bool(status.get("initialized")),
        members=0 if asleep else members,
    ):  # fmt: skip
        ensure_object(cluster, desired)
    now = time.time()
    views, pods = observe_members(
        cluster, obj, members, creds, links=mem.links, silent_since=mem.silent_since
    )
    hold, held = lifecycle_ops.hibernation_pass(cluster, obj, spec, views, pods, creds.admin, now)
    if hold:
        mem.unsettle()
        decision = Decision(Nothing(), held.message or "", requeue_after=held.requeue_after)
        return _finish(cluster, key, obj, spec, views, decision, status, held.changes, now)
    annotations = obj["metadata"].get("annotations") or {}
    # A fenced member is outside the topology (never attached, labelled or
    # promoted) until unfenced; the primary cannot be fenced (fence_pass says so).
    fenced = parse_fenced(annotations.get(lifecycle_ops.FENCE_ANNOTATION)) - {primary}
    pview = next((v for v in views if v.name == primary), None)
    if pview is not None and pview.status is not None and not pview.status.read_only:
        if pview.status.semi_sync_primary_on:
            mem.semisync_seen = time.monotonic()
        else:
            mem.semisync_seen = float("-inf")
    recent = time.monotonic() - mem.semisync_seen < SEMISYNC_FRESH_SECONDS
    snap = Snapshot(
        members=tuple(_same_revision_crashes(views, pods, primary, fenced)),
        semi_sync_seen_recently=recent or not seen_matters,
        primary=status.get("primary"),
        initialized=bool(status.get("initialized")),
        semi_sync=spec.semi_sync,
        primary_was_semi_sync=bool((status.get("semiSync") or {}).get("primaryActive", True)),
        forced_candidate=annotations.get(FORCE_ANNOTATION),
        switchover_to=annotations.get(SWITCHOVER_ANNOTATION),
        primary_restarts=status.get("primaryRestarts"),
        keep_below=spec.replicas if members > spec.replicas else None,
    )
    decision = decide(snap)
    changes = {**held.changes, **act(cluster, obj, decision, views, creds, ctx.member_command)}
    if decision.settled:
        decision, more = _lifecycle(cluster, obj, spec, decision, views, pods, creds, ctx, now)
        changes.update(more)
    result = _finish(cluster, key, obj, spec, views, decision, status, changes, now)
    # Requests are withdrawn once the status names the new primary: the CLI
    # reads a withdrawn request with the old primary still in status as a failure.
    done = {
        FORCE_ANNOTATION: bool(changes.get("primary") and snap.forced_candidate),
        SWITCHOVER_ANNOTATION: bool(changes.get("lastSwitchover") and snap.switchover_to),
    }
    if any(done.values()):
        with contextlib.suppress(NotFoundError):
            cluster.patch(
                "MySQLCluster", key.name, key.namespace,
                {"metadata": {"annotations": {a: None for a, d in done.items() if d}}},
            )  # fmt: skip
    _remember(mem, decision, views, spec.replicas, fenced)
    if mem.quiet():
        return Result(result.message, requeue_after=HEARTBEAT)
    return result


def _remember(
    mem: ClusterMemory,
    decision: Decision,
    views: list[MemberView],
    replicas: int,
    fenced: frozenset[str],
) -> None:
    """Pulses stand in for full passes only while every member is healthy and
    the topology and lifecycle have nothing to do."""
    healthy = [
        v for v in views
        if v.ip and v.status is not None
        and (not v.status.read_only or (v.status.replica and v.status.replica.healthy))
    ]  # fmt: skip
    if decision.quiet and not fenced and len(healthy) == len(views) == replicas:
        mem.settle(
            decision.message,
            {v.name: (v.ip or "", Pulse.of(v.status)) for v in healthy if v.status},
        )
    else:
        mem.unsettle()


def _same_revision_crashes(
    views: list[MemberView], pods: dict[str, Obj], primary: str | None, fenced: frozenset[str]
) -> list[MemberView]:
    """The members the topology sees. A crash loop at another revision than the
    primary's is a broken rollout (lifecycle halts it), not broken data to re-clone."""

    def revision(name: str | None) -> str | None:
        return labels_of(pods[name]).get(lifecycle_ops.REVISION_LABEL) if name in pods else None

    return [
        v if revision(v.name) == revision(primary) else dataclasses.replace(v, crashlooping=False)
        for v in views
        if v.name not in fenced
    ]


def _lifecycle(
    cluster: Cluster,
    obj: Obj,
    spec: MySQLClusterSpec,
    decision: Decision,
    views: list[MemberView],
    pods: dict[str, Obj],
    creds: Members,
    ctx: RenderContext,
    now: float,
) -> tuple[Decision, dict[str, Any]]:
    def switch(action: Switchover, message: str) -> dict[str, Any]:
        return act(cluster, obj, Decision(action, message), views, creds, ctx.member_command)

    outcome = lifecycle_ops.run_passes(cluster, obj, spec, views, pods, creds.admin, switch, now)
    if not outcome.message:
        return decision, outcome.changes
    said = Decision(Nothing(), outcome.message, requeue_after=outcome.requeue_after, settled=True)
    return said, outcome.changes


def _finish(
    cluster: Cluster,
    key: ObjectKey,
    obj: Obj,
    spec: MySQLClusterSpec,
    views: list[MemberView],
    decision: Decision,
    status: dict[str, Any],
    changes: dict[str, Any],
    now: float,
) -> Result:
    merged = {**status, **changes}
    merged.update(track_bootstrap(cluster, obj, spec_bootstrap(spec), merged))
    new_status = build_status(obj, spec, views, decision, merged, now)
    _maybe_event_semisync(cluster, obj, status, new_status)
    if new_status != status:
        try:
            fresh = cluster.get("MySQLCluster", key.name, key.namespace)
        except NotFoundError:  # deleted during this pass
            return Result(f"MySQLCluster {key.name} is gone")
        fresh["status"] = new_status
        cluster.update_status(fresh)
    return Result(decision.message, requeue_after=decision.requeue_after)


def _maybe_event_semisync(cluster: Cluster, obj: Obj, old: dict[str, Any], new: Obj) -> None:
    was = (old.get("semiSync") or {}).get("primaryActive")
    now = (new.get("semiSync") or {}).get("primaryActive")
    if was is True and now is False:
        cluster.record_event(
            obj,
            type="Warning",
            reason="SemiSyncOff",
            message=f"primary {new.get('primary')} fell back to asynchronous replication: "
            "no replica acknowledged in time; a failover now could lose acknowledged writes",
        )
    elif was is False and now is True:
        cluster.record_event(
            obj, type="Normal", reason="SemiSyncOn", message="semi-synchronous replication is back"
        )


def _mappers(memory: Memory) -> tuple[tuple[str, Any], ...]:
    """Watch mappers that mark a cluster dirty before its key is queued, so
    the pass that follows is a full one."""

    def pods(_cluster: Cluster, pod: Obj) -> list[ObjectKey]:
        name = labels_of(pod).get(CLUSTER_LABEL)
        if not name:
            return []
        key = ObjectKey("MySQLCluster", pod["metadata"].get("namespace") or "default", name)
        memory.mark_dirty(key)
        return [key]

    def owned(_cluster: Cluster, obj: Obj) -> list[ObjectKey]:
        ref = controller_ref(obj)
        if not ref or ref.get("kind") != "MySQLCluster":
            return []
        key = ObjectKey("MySQLCluster", obj["metadata"].get("namespace") or "", str(ref["name"]))
        memory.mark_dirty(key)
        return [key]

    def clusters(_cluster: Cluster, obj: Obj) -> list[ObjectKey]:
        memory.note_cluster(obj, ObjectKey.of(obj))
        return []  # the manager queues the cluster itself

    return (
        ("Pod", pods),
        ("MySQLCluster", clusters),
        *((kind, owned) for kind in OWNED),
    )


def controller(ctx: RenderContext) -> Controller:
    memory = Memory()
    return Controller(
        name="mysqlcluster",
        kind="MySQLCluster",
        reconcile=partial(reconcile, ctx=ctx, memory=memory),
        owns=OWNED,
        watches=_mappers(memory),
        workers=2,
    )

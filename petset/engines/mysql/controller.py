"""The MySQLCluster controller: render the owned objects, observe the members,
decide (topology.py), do at most one topology action, write status.

It talks to members only through SQL on their pod IPs and to everything else
through the `Cluster` protocol, so it runs unchanged locally and on Kubernetes.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from petset.api.errors import AlreadyExistsError, NotFoundError
from petset.api.meta import Obj, ObjectKey, labels_of, name_of
from petset.api.petset_kinds import MySQLClusterSpec, parse_mysqlcluster
from petset.engines.mysql import lifecycle_ops, sql
from petset.engines.mysql.backup.bootstrap import spec_bootstrap, track_bootstrap
from petset.engines.mysql.lifecycle import parse_fenced
from petset.engines.mysql.render import (
    CLUSTER_LABEL,
    ROLE_LABEL,
    RenderContext,
    render_all,
    render_secret,
    secret_name,
)
from petset.engines.mysql.status import build_status
from petset.engines.mysql.sync import ensure_object
from petset.engines.mysql.topology import (
    Attach,
    Bootstrap,
    Decision,
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
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result, TemporaryError

DRAIN_TIMEOUT = 10.0
FORCE_ANNOTATION = "petset.dev/failover-to"
SWITCHOVER_ANNOTATION = "petset.dev/switchover-to"
CATCHUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Members:
    admin: sql.Credentials
    repl: sql.Credentials


def _secret_value(secret: Obj, key: str) -> str:
    if key in (secret.get("stringData") or {}):
        return str(secret["stringData"][key])
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        raise NotFoundError(f"Secret {name_of(secret)!r} has no key {key!r}")
    return base64.b64decode(raw).decode()


def ensure_credentials(cluster: Cluster, obj: Obj, spec: MySQLClusterSpec) -> Members:
    ns = obj["metadata"]["namespace"]
    name = secret_name(obj, spec)
    try:
        secret = cluster.get("Secret", name, ns)
    except NotFoundError:
        if spec.credentials_secret:
            raise NotFoundError(
                f"spec.credentialsSecret: Secret {name!r} not found in namespace {ns!r}; "
                "create it with keys admin-password, replication-password and app-password, "
                "or remove the field"
            ) from None
        passwords = {
            "admin-password": secrets.token_urlsafe(18),
            "replication-password": secrets.token_urlsafe(18),
            "app-password": secrets.token_urlsafe(18),
        }
        try:
            secret = cluster.create(render_secret(obj, spec, passwords))
        except AlreadyExistsError:
            secret = cluster.get("Secret", name, ns)
    return Members(
        admin=sql.Credentials("petset_admin", _secret_value(secret, "admin-password")),
        repl=sql.Credentials("petset_repl", _secret_value(secret, "replication-password")),
    )


def _container(pod: Obj, name: str) -> tuple[bool, int, bool]:
    """(running, restartCount, in CrashLoopBackOff) of one container of a pod."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == name:
            state = cs.get("state") or {}
            looping = (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"
            return "running" in state, int(cs.get("restartCount") or 0), looping
    return False, 0, False


def _parse_ts(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def observe_members(
    cluster: Cluster, obj: Obj, replicas: int, creds: Members, now: float
) -> tuple[list[MemberView], dict[str, Obj]]:
    ns = obj["metadata"]["namespace"]
    name = name_of(obj)
    pods = {
        name_of(p): p for p in cluster.list("Pod", ns, label_selector=f"{CLUSTER_LABEL}={name}")
    }
    previous = {m["name"]: m for m in (obj.get("status") or {}).get("members") or []}
    names = [f"{name}-{i}" for i in range(replicas)]
    names += sorted(set(pods) - set(names))

    def look(member: str) -> MemberView:
        pod = pods.get(member)
        ordinal = int(member.rsplit("-", 1)[1])
        if pod is None:
            return MemberView(member, ordinal, None, pod_exists=False)
        ip = (pod.get("status") or {}).get("podIP")
        running, restarts, looping = _container(pod, "mariadbd")
        running = running and not pod["metadata"].get("deletionTimestamp")
        status = None
        if running and ip:
            try:
                status = sql.observe(ip, creds.admin)
            except sql.MemberUnreachable as exc:
                # Nothing listening: the process died (the kubelet may not have
                # noticed yet, or restarted it and crash recovery is running).
                running = not exc.refused
        since = _parse_ts(previous.get(member, {}).get("unreachableSince"))
        unreachable_for = 0.0 if status is not None or since is None else now - since
        return MemberView(
            member,
            ordinal,
            ip,
            pod_exists=True,
            running=running,
            role_label=labels_of(pod).get(ROLE_LABEL),
            status=status,
            unreachable_for=unreachable_for,
            restarts=restarts,
            crashlooping=looping,
        )

    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        views = list(pool.map(look, names))
    return views, pods


def act(
    cluster: Cluster,
    obj: Obj,
    decision: Decision,
    views: list[MemberView],
    creds: Members,
    member_command: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Carry out the decision; returns status fields it changed."""
    by_name = {v.name: v for v in views}
    ns = obj["metadata"]["namespace"]
    action = decision.action

    def ip(member: str) -> str:
        addr = by_name[member].ip
        assert addr, member
        return addr

    if isinstance(action, Bootstrap):
        sql.promote(ip(action.member), creds.admin)
        cluster.record_event(obj, type="Normal", reason="Bootstrapped", message=decision.message)
        return {
            "primary": action.member,
            "initialized": True,
            "primaryRestarts": by_name[action.member].restarts,
        }
    if isinstance(action, Promote):
        sql.promote(ip(action.member), creds.admin)
        cluster.record_event(obj, type="Normal", reason="Promoted", message=decision.message)
    elif isinstance(action, Attach):
        sql.replicate_from(
            ip(action.member),
            creds.admin,
            source_host=ip(action.source),
            source_port=3306,
            repl=creds.repl,
            adopt_own_binlog=action.adopt_own_binlog,
        )
    elif isinstance(action, Label):
        for member, role in action.roles.items():
            cluster.patch("Pod", member, ns, {"metadata": {"labels": {ROLE_LABEL: role}}})
    elif isinstance(action, Fence):
        _unlabel(cluster, ns, action.member)
        cluster.delete("Pod", action.member, ns, grace_period_seconds=0)
        cluster.record_event(obj, type="Warning", reason="Fenced", message=decision.message)
    elif isinstance(action, Failover):
        return _failover(cluster, obj, action, by_name, creds)
    elif isinstance(action, Switchover):
        return _switchover(cluster, obj, action, by_name, creds)
    elif isinstance(action, Reclone):
        if action.verify_divergence and not _still_diverged(by_name, action.member, creds, obj):
            return {}
        _reclone(cluster, obj, action.member, ip(action.member), creds, member_command)
        cluster.record_event(obj, type="Warning", reason="Recloning", message=decision.message)
    return {}


def _still_diverged(by_name: dict[str, MemberView], member: str, creds: Members, obj: Obj) -> bool:
    """Observe the member, then the primary: a transaction the member holds came
    from the primary before the member had it, so a primary observed later has it
    unless the histories really split."""
    primary = by_name.get(str((obj.get("status") or {}).get("primary")))
    addr = by_name[member].ip
    if primary is None or not primary.ip or not addr:
        return False
    try:
        mine = sql.observe(addr, creds.admin).binlog
        theirs = sql.observe(primary.ip, creds.admin).position
    except sql.MemberUnreachable:
        return False
    return not theirs.contains(mine)


def _reclone(
    cluster: Cluster,
    obj: Obj,
    member: str,
    addr: str,
    creds: Members,
    member_command: tuple[str, ...],
) -> None:
    """Stop the member, move its data aside in the volume, recreate its pod:
    init-data then clones it from a healthy peer and drops the old data."""
    ns = obj["metadata"]["namespace"]
    _unlabel(cluster, ns, member)
    with contextlib.suppress(sql.MemberUnreachable):
        sql.execute(addr, creds.admin, ["SHUTDOWN"])
    result = cluster.pod_exec(
        ns, member, [*member_command, "set-aside"], container="agent", timeout=60
    )
    if result.exit_code != 0:
        raise TemporaryError(
            f"setting {member}'s data aside failed ({result.exit_code}): "
            f"{result.stderr.decode(errors='replace')[-300:]}"
        )
    cluster.delete("Pod", member, ns, grace_period_seconds=0)


def _switchover(
    cluster: Cluster, obj: Obj, action: Switchover, by_name: dict[str, MemberView], creds: Members
) -> dict[str, Any]:
    """read_only on the old primary, let the target catch up, promote it,
    repoint the old primary. Writes are refused only between the first and
    the third step."""
    ns = obj["metadata"]["namespace"]
    old_ip, new_ip = by_name[action.old].ip or "", by_name[action.new].ip or ""
    started = time.monotonic()
    _unlabel(cluster, ns, action.old)
    sql.set_read_only(old_ip, creds.admin, True)
    target = sql.observe(old_ip, creds.admin).binlog
    with sql.connect(new_ip, creds.admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s) AS r", (str(target), CATCHUP_TIMEOUT))
        row = cur.fetchone()
    if not row or int(row["r"]) != 0:
        sql.set_read_only(old_ip, creds.admin, False)
        cluster.patch("Pod", action.old, ns, {"metadata": {"labels": {ROLE_LABEL: "primary"}}})
        msg = f"switchover to {action.new} aborted: it did not reach {target} in time"
        cluster.record_event(obj, type="Warning", reason="SwitchoverFailed", message=msg)
        return {"lastMessage": msg}
    sql.promote(new_ip, creds.admin)
    cluster.patch("Pod", action.new, ns, {"metadata": {"labels": {ROLE_LABEL: "primary"}}})
    took = time.monotonic() - started
    sql.replicate_from(
        old_ip, creds.admin, source_host=new_ip, source_port=3306, repl=creds.repl,
        adopt_own_binlog=True,
    )  # fmt: skip
    cluster.patch(
        "MySQLCluster", obj["metadata"]["name"], ns,
        {"metadata": {"annotations": {SWITCHOVER_ANNOTATION: None}}},
    )  # fmt: skip
    msg = f"switched over from {action.old} to {action.new} ({took:.2f}s without a writer)"
    cluster.record_event(obj, type="Normal", reason="SwitchedOver", message=msg)
    return {
        "primary": action.new,
        "lastSwitchover": msg,
        "primaryRestarts": by_name[action.new].restarts,
    }


def _unlabel(cluster: Cluster, ns: str, member: str) -> None:
    with contextlib.suppress(NotFoundError):
        cluster.patch("Pod", member, ns, {"metadata": {"labels": {ROLE_LABEL: None}}})


def _failover(
    cluster: Cluster, obj: Obj, action: Failover, by_name: dict[str, MemberView], creds: Members
) -> dict[str, Any]:
    ns = obj["metadata"]["namespace"]
    started = time.monotonic()
    _unlabel(cluster, ns, action.old)  # the rw Service stops sending to it at once

    def drain(member: str) -> tuple[str, sql.MemberStatus | None]:
        addr = by_name[member].ip or ""
        try:
            sql.wait_applied(addr, creds.admin, DRAIN_TIMEOUT)
            return member, sql.observe(addr, creds.admin)
        except sql.MemberUnreachable:
            return member, None

    with ThreadPoolExecutor(max_workers=len(action.candidates)) as pool:
        drained = dict(pool.map(drain, action.candidates))
    positions = {n: s.position for n, s in drained.items() if s is not None}
    chosen = choose_candidate(
        positions, {n: by_name[n].ordinal for n in positions}, avoid=action.old
    )
    if chosen is None:
        msg = (
            f"failover from {action.old} stopped: candidates' histories diverged "
            f"({', '.join(f'{n}={p}' for n, p in positions.items())}); choose one with "
            "`petset mysql failover CLUSTER --to MEMBER`"
        )
        cluster.record_event(obj, type="Warning", reason="FailoverBlocked", message=msg)
        return {"lastMessage": msg}
    sql.promote(by_name[chosen].ip or "", creds.admin)
    cluster.patch("Pod", chosen, ns, {"metadata": {"labels": {ROLE_LABEL: "primary"}}})
    took = time.monotonic() - started
    msg = f"failed over from {action.old} to {chosen} at {positions[chosen]} in {took:.2f}s"
    cluster.record_event(obj, type="Warning", reason="FailedOver", message=msg)
    return {"primary": chosen, "lastFailover": msg, "primaryRestarts": by_name[chosen].restarts}


# How recent an observation of the primary in semi-sync mode must be for an
# automatic failover: a healthy cluster is observed every HEALTHY_RESYNC seconds.
SEMISYNC_FRESH_SECONDS = 15.0


def reconcile(
    cluster: Cluster,
    key: ObjectKey,
    *,
    ctx: RenderContext,
    semisync_seen: dict[str, float] | None = None,
) -> Result:
    """`semisync_seen` (cluster uid -> monotonic time) lives as long as this
    process: after a daemon restart nothing has been seen."""
    try:
        obj = cluster.get("MySQLCluster", key.name, key.namespace)
    except NotFoundError:
        return Result(f"MySQLCluster {key.name} is gone")
    if obj["metadata"].get("deletionTimestamp"):
        return Result("being deleted")
    spec = parse_mysqlcluster(obj).spec
    status = dict(obj.get("status") or {})
    creds = ensure_credentials(cluster, obj, spec)
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
    views, pods = observe_members(cluster, obj, members, creds, now)
    hold, held = lifecycle_ops.hibernation_pass(cluster, obj, spec, views, pods, creds.admin, now)
    if hold:
        decision = Decision(Nothing(), held.message or "", requeue_after=held.requeue_after)
        return _finish(cluster, key, obj, spec, views, decision, status, held.changes, now)
    annotations = obj["metadata"].get("annotations") or {}
    # A fenced member is outside the topology (never attached, labelled or
    # promoted) until unfenced; the primary cannot be fenced (fence_pass says so).
    fenced = parse_fenced(annotations.get(lifecycle_ops.FENCE_ANNOTATION)) - {primary}
    seen = {} if semisync_seen is None else semisync_seen
    uid = str(obj["metadata"].get("uid"))
    pview = next((v for v in views if v.name == primary), None)
    if pview is not None and pview.status is not None and not pview.status.read_only:
        if pview.status.semi_sync_primary_on:
            seen[uid] = time.monotonic()
        else:
            seen.pop(uid, None)
    recent = time.monotonic() - seen.get(uid, float("-inf")) < SEMISYNC_FRESH_SECONDS
    snap = Snapshot(
        members=tuple(_same_revision_crashes(views, pods, primary, fenced)),
        semi_sync_seen_recently=recent or semisync_seen is None,
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
    if changes.get("primary") and snap.forced_candidate:
        cluster.patch(
            "MySQLCluster", key.name, key.namespace,
            {"metadata": {"annotations": {FORCE_ANNOTATION: None}}},
        )  # fmt: skip
    if decision.settled:
        decision, more = _lifecycle(cluster, obj, spec, decision, views, pods, creds, ctx, now)
        changes.update(more)
    return _finish(cluster, key, obj, spec, views, decision, status, changes, now)


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


def pods_to_cluster(_cluster: Cluster, pod: Obj) -> list[ObjectKey]:
    name = labels_of(pod).get(CLUSTER_LABEL)
    if not name:
        return []
    return [ObjectKey("MySQLCluster", pod["metadata"].get("namespace") or "default", name)]


def controller(ctx: RenderContext) -> Controller:
    return Controller(
        name="mysqlcluster",
        kind="MySQLCluster",
        reconcile=partial(reconcile, ctx=ctx, semisync_seen={}),
        owns=("StatefulSet", "Service", "ConfigMap", "Secret"),
        watches=(("Pod", pods_to_cluster),),
        workers=2,
    )

"""The controller's lifecycle passes: observe what lifecycle.py needs, act on
its one decision, and return the status fields that record it.

Each pass runs only when the topology is settled (no failover, attach or
re-clone pending), except hibernation, which holds the topology while the
members are stopped or waking.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pymysql

from petset.api import mariadb_params
from petset.api.errors import NotFoundError
from petset.api.meta import Obj, labels_of, name_of
from petset.api.petset_kinds import MySQLClusterSpec
from petset.engines.mysql import sql
from petset.engines.mysql.config import DEFAULTS
from petset.engines.mysql.lifecycle import (
    Complete,
    Halt,
    Member,
    Restarting,
    RestartMember,
    RolloutView,
    Wait,
    hibernation_step,
    parse_fenced,
    plan_fence,
    plan_rollout,
    record_revision,
)
from petset.engines.mysql.render import ROLE_LABEL
from petset.engines.mysql.topology import MemberView, Switchover
from petset.runtime.cluster import Cluster

REVISION_LABEL = "controller-revision-hash"
FENCE_ANNOTATION = "petset.dev/fenced"
QUIESCE_TIMEOUT = 10.0


@dataclass
class Outcome:
    message: str | None = None  # None: the topology's sentence stands
    changes: dict[str, Any] = field(default_factory=dict)
    requeue_after: float | None = None
    blocked: bool = False


def _unlabel(cluster: Cluster, ns: str, member: str) -> None:
    with contextlib.suppress(NotFoundError):
        cluster.patch("Pod", member, ns, {"metadata": {"labels": {ROLE_LABEL: None}}})


def serving(v: MemberView, primary: str | None) -> bool:
    """Healthy for a rollout: the primary writable, a replica replicating and caught up."""
    st = v.status
    if st is None:
        return False
    if v.name == primary:
        return not st.read_only
    rep = st.replica
    return rep is not None and rep.healthy and (rep.seconds_behind or 0) == 0


# -- rollout ------------------------------------------------------------------------------
def rollout_pass(
    cluster: Cluster,
    obj: Obj,
    spec: MySQLClusterSpec,
    views: list[MemberView],
    pods: dict[str, Obj],
    fenced: frozenset[str],
    switchover: Callable[[Switchover, str], dict[str, Any]],
    now: float,
) -> Outcome:
    ns, name = obj["metadata"]["namespace"], name_of(obj)
    status = obj.get("status") or {}
    try:
        sts = cluster.get("StatefulSet", name, ns)
    except NotFoundError:
        return Outcome()
    sts_status = sts.get("status") or {}
    record = dict(status.get("rollout") or {})
    r = record.get("restarting")
    primary = status.get("primary")
    view = RolloutView(
        members=tuple(
            Member(
                v.name,
                v.ordinal,
                labels_of(pods[v.name]).get(REVISION_LABEL) if v.name in pods else None,
                serving(v, primary),
                v.restarts,
                v.name in fenced,
            )
            for v in views
        ),
        primary=primary,
        update_revision=sts_status.get("updateRevision"),
        observed=int(sts_status.get("observedGeneration") or 0)
        >= int(sts["metadata"].get("generation") or 1),
        restarting=Restarting(r["member"], r["revision"], float(r["since"])) if r else None,
        halted_revision=record.get("haltedRevision"),
        started_primary=record.get("startedPrimary"),
        timeout=float(spec.rollout.member_timeout_seconds),
        now=now,
    )
    d = plan_rollout(view)
    if isinstance(d.action, Complete):
        return _complete(cluster, obj, spec, record, view.update_revision, d.message)
    if isinstance(d.action, Wait) and not view.observed:
        return Outcome()
    message = d.message.replace("mysqlcluster/NAME", f"mysqlcluster/{name}")
    new = {**record, "revision": view.update_revision, "outdated": list(d.outdated)}
    halted_already = record.get("haltedRevision") == view.update_revision
    # a halt keeps the sentence that said why
    new["message"] = record.get("message") if halted_already else message
    if record.get("state") not in ("Progressing", "Halted"):
        new.update(state="Progressing", startedPrimary=primary)
    changes: dict[str, Any] = {}
    action = d.action
    if isinstance(action, Halt):
        if not halted_already:
            cluster.record_event(obj, type="Warning", reason="RolloutHalted", message=message)
        new.update(state="Halted", haltedRevision=view.update_revision)
    else:
        new["state"] = "Progressing"
        new.pop("haltedRevision", None)
    if isinstance(action, RestartMember):
        _unlabel(cluster, ns, action.member)
        with contextlib.suppress(NotFoundError):
            cluster.delete("Pod", action.member, ns)
        new["restarting"] = {"member": action.member, "revision": action.revision, "since": now}
        cluster.record_event(obj, type="Normal", reason="RestartingMember", message=message)
    elif isinstance(action, Switchover):
        new.pop("restarting", None)
        changes = switchover(action, message)
    return Outcome(
        str(new["message"]),
        {**changes, "rollout": new},
        requeue_after=1.0,
        blocked=isinstance(action, Halt),
    )


def _complete(
    cluster: Cluster,
    obj: Obj,
    spec: MySQLClusterSpec,
    record: dict[str, Any],
    revision: str | None,
    message: str,
) -> Outcome:
    new = {
        k: v
        for k, v in record.items()
        if k not in ("restarting", "haltedRevision", "startedPrimary", "outdated")
    }
    new.update(state="Complete", revision=revision, message=message)
    new = record_revision(new, obj.get("spec") or {})
    cfg = {"static": mariadb_params.split_static(dict(spec.config))[1], "pendingRestart": []}
    if record.get("state") in ("Progressing", "Halted"):
        cluster.record_event(
            obj, type="Normal", reason="RolloutComplete", message=f"rollout complete: {message}"
        )
        return Outcome(f"rollout complete: {message}", {"rollout": new, "config": cfg})
    return Outcome(None, {"rollout": new, "config": cfg})


# -- reconfigure: dynamic parameters live ------------------------------------------------
def pending_restart(spec: MySQLClusterSpec, status: Obj) -> list[str]:
    """Static parameters whose value differs from what the members were started with."""
    rolled = (status.get("config") or {}).get("static")
    if rolled is None:
        return []
    static = mariadb_params.split_static(dict(spec.config))[1]
    return sorted(k for k in set(static) | set(rolled) if static.get(k) != rolled.get(k))


def _live_catalogue(ip: str, admin: sql.Credentials, keys: list[str]) -> dict[str, bool]:
    """name -> dynamic, for the keys the live server knows (its own SYSTEM_VARIABLES)."""
    marks = ", ".join(["%s"] * len(keys))
    with sql.connect(ip, admin) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT LOWER(VARIABLE_NAME) AS n, READ_ONLY AS ro FROM "
            f"information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME IN ({marks})",
            [k.upper() for k in keys],
        )
        return {str(r["n"]): r["ro"] != "YES" for r in cur.fetchall()}


def _set_global(ip: str, admin: sql.Credentials, stmts: dict[str, str]) -> str | None:
    """Run SET GLOBAL statements; the first refused one as 'key: reason'."""
    try:
        conn = pymysql.connect(host=ip, user=admin.user, password=admin.password,
                               connect_timeout=2, autocommit=True)  # fmt: skip
    except pymysql.err.MySQLError as exc:
        return f"(connection): {exc}"
    with conn, conn.cursor() as cur:
        for key, stmt in stmts.items():
            try:
                cur.execute(stmt)
            except pymysql.err.MySQLError as exc:
                return f"{key}: the server refused it ({exc.args[-1]})"
    return None


def config_pass(
    cluster: Cluster,
    obj: Obj,
    spec: MySQLClusterSpec,
    views: list[MemberView],
    admin: sql.Credentials,
) -> Outcome:
    status = obj.get("status") or {}
    cfg = dict(status.get("config") or {})
    dynamic = mariadb_params.split_static(dict(spec.config))[0]
    cfg["pendingRestart"] = pending_restart(spec, status)
    applied = cfg.get("applied")
    if applied is None:  # members started with these in my.cnf
        cfg["applied"] = dynamic
        return Outcome(None, {"config": cfg})
    changed = {k: v for k, v in dynamic.items() if applied.get(k) != v}
    removed = [k for k in applied if k not in dynamic]
    if not changed and not removed:
        return Outcome(None, {"config": cfg})
    targets = [v for v in views if v.status is not None and v.ip]
    if not targets:
        return Outcome(None, {"config": cfg})
    keys = [mariadb_params.canonical(k) for k in [*changed, *removed]]
    live = _live_catalogue(targets[0].ip or "", admin, keys)
    version = targets[0].status.version if targets[0].status else "?"
    problem = next(
        (
            f"{k}: the running server ({version}) has no such variable"
            for k in keys
            if k not in live
        ),
        None,
    ) or next((f"{k}: the running server cannot change it live" for k in keys if not live[k]), None)
    stmts = _statements(changed, removed)
    failed = problem
    for v in targets if problem is None else []:
        failed = _set_global(v.ip or "", admin, stmts)
        if failed:
            failed = f"{failed} on {v.name}"
            break
    if failed:
        msg = f"spec.config.{failed}; fix spec.config (the other parameters are unchanged)"
        if cfg.get("error") != msg:
            cluster.record_event(obj, type="Warning", reason="ConfigRejected", message=msg)
        cfg["error"] = msg
        return Outcome(msg, {"config": cfg}, requeue_after=5.0, blocked=True)
    cfg["applied"] = dynamic
    cfg.pop("error", None)
    what = ", ".join([f"{k}={v}" for k, v in changed.items()] + [f"{k} reset" for k in removed])
    msg = f"set {what} live on {', '.join(v.name for v in targets)} (no restart)"
    cluster.record_event(obj, type="Normal", reason="ConfigApplied", message=msg)
    return Outcome(msg, {"config": cfg}, requeue_after=1.0)


def _statements(changed: dict[str, Any], removed: list[str]) -> dict[str, str]:
    cat = mariadb_params.catalogue()
    out: dict[str, str] = {}
    for key, value in changed.items():
        var = cat.get(key)
        assert var is not None  # split_static puts unknown ones with the static
        out[key] = f"SET GLOBAL {var.name} = {mariadb_params.sql_literal(var, value)}"
    for key in removed:
        var = cat.get(key)
        if var is None:
            continue
        default = DEFAULTS.get(var.name)
        literal = "DEFAULT" if default is None else mariadb_params.sql_literal(var, default)
        out[key] = f"SET GLOBAL {var.name} = {literal}"
    return out


# -- fencing ------------------------------------------------------------------------------
def fence_pass(
    cluster: Cluster, obj: Obj, views: list[MemberView], admin: sql.Credentials
) -> Outcome:
    ns = obj["metadata"]["namespace"]
    status = obj.get("status") or {}
    fenced = parse_fenced((obj["metadata"].get("annotations") or {}).get(FENCE_ANNOTATION))
    changes: dict[str, Any] = {"fenced": sorted(fenced)}
    for member in sorted(set(status.get("fenced") or []) - fenced):
        cluster.record_event(
            obj, type="Normal", reason="MemberUnfenced",
            message=f"unfenced {member}: it replicates again and rejoins the ro Service",
        )  # fmt: skip
    d = plan_fence(fenced, status.get("primary"), views)
    if d.blocked:
        return Outcome(d.message, changes, requeue_after=2.0, blocked=True)
    if d.action is None:
        return Outcome(None, changes)
    member = d.action.member
    _unlabel(cluster, ns, member)
    view = next(v for v in views if v.name == member)
    if view.ip and view.status is not None:
        with contextlib.suppress(sql.MemberUnreachable):
            sql.execute(view.ip, admin, ["STOP SLAVE"])
    cluster.record_event(obj, type="Normal", reason="MemberFenced", message=d.message)
    return Outcome(d.message, changes, requeue_after=1.0)


# -- hibernation --------------------------------------------------------------------------
def hibernation_pass(
    cluster: Cluster,
    obj: Obj,
    spec: MySQLClusterSpec,
    views: list[MemberView],
    pods: dict[str, Obj],
    admin: sql.Credentials,
    now: float,
) -> tuple[bool, Outcome]:
    """(hold the topology, outcome)."""
    status = obj.get("status") or {}
    hib = dict(status.get("hibernation") or {})
    state = hib.get("state")
    if not spec.hibernate and state is None:
        return False, Outcome()
    primary = hib.get("primary") or status.get("primary")
    pview = next((v for v in views if v.name == primary), None)
    reachable = pview is not None and pview.status is not None
    nxt, msg = hibernation_step(
        spec.hibernate, state, len(pods), reachable, now - float(hib.get("since") or now)
    )
    if nxt == state:
        return True, Outcome(msg, {}, requeue_after=1.0)
    reasons = {"Stopping": "Hibernating", "Hibernated": "Hibernated", "Waking": "Waking"}
    if nxt == "Stopping":
        _quiesce(cluster, obj, views, primary, admin)
    if nxt is None:
        cluster.record_event(obj, type="Normal", reason="Woken", message=msg)
        return False, Outcome(msg, {"hibernation": None})
    cluster.record_event(obj, type="Normal", reason=reasons[nxt], message=msg)
    since = hib.get("since") if nxt == "Hibernated" else now
    return True, Outcome(
        msg, {"hibernation": {"state": nxt, "primary": primary, "since": since}}, requeue_after=0.5
    )


def _quiesce(
    cluster: Cluster, obj: Obj, views: list[MemberView], primary: str | None, admin: sql.Credentials
) -> None:
    """Before stopping: no new writes, every replica holds all the primary wrote,
    so whichever member starts first on waking has the same data."""
    ns = obj["metadata"]["namespace"]
    for v in views:
        if v.pod_exists:
            _unlabel(cluster, ns, v.name)
    pview = next((v for v in views if v.name == primary), None)
    if pview is None or pview.status is None or not pview.ip:
        return
    with contextlib.suppress(sql.MemberUnreachable):
        sql.set_read_only(pview.ip, admin, True)
        target = str(sql.observe(pview.ip, admin).binlog)
        for v in views:
            if v.name != primary and v.status is not None and v.ip:
                with sql.connect(v.ip, admin) as conn, conn.cursor() as cur:
                    cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (target, QUIESCE_TIMEOUT))


def run_passes(
    cluster: Cluster,
    obj: Obj,
    spec: MySQLClusterSpec,
    views: list[MemberView],
    pods: dict[str, Obj],
    admin: sql.Credentials,
    switchover: Callable[[Switchover, str], dict[str, Any]],
    now: float,
) -> Outcome:
    """Fencing, live parameters, then the rolling restart: the first pass with
    something to do or say ends the reconcile (one disruptive action per pass)."""
    fenced = parse_fenced((obj["metadata"].get("annotations") or {}).get(FENCE_ANNOTATION))
    # status.config is written by two passes (live values, then the rollout's static ones)
    config = dict((obj.get("status") or {}).get("config") or {})
    changes: dict[str, Any] = {}

    def merge(outcome: Outcome) -> Outcome:
        config.update(outcome.changes.pop("config", None) or {})
        changes.update(outcome.changes)
        return outcome

    outcome = merge(fence_pass(cluster, obj, views, admin))
    if not outcome.message:
        outcome = merge(config_pass(cluster, obj, spec, views, admin))
    if not outcome.message:
        outcome = merge(rollout_pass(cluster, obj, spec, views, pods, fenced, switchover, now))
    outcome.changes = {**changes, "config": config}
    return outcome

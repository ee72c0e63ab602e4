"""Actions: carry out one topology decision on the members (SQL) and the pods
(role labels, deletion). Each returns the status fields it changed."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from petset.api.errors import NotFoundError
from petset.api.meta import Obj
from petset.engines.mysql import sql
from petset.engines.mysql.observe import Members
from petset.engines.mysql.render import ROLE_LABEL
from petset.engines.mysql.topology import (
    Attach,
    Bootstrap,
    Decision,
    Failover,
    Fence,
    Label,
    MemberView,
    Promote,
    Reclone,
    Switchover,
    choose_candidate,
)
from petset.runtime.cluster import Cluster
from petset.runtime.controller import TemporaryError

DRAIN_TIMEOUT = 10.0
CATCHUP_TIMEOUT = 10.0
FORCE_ANNOTATION = "petset.dev/failover-to"
SWITCHOVER_ANNOTATION = "petset.dev/switchover-to"


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
    if not sql.gtid_wait(new_ip, creds.admin, str(target), CATCHUP_TIMEOUT):
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
    old = by_name.get(action.old)
    if old is not None and old.ip and old.status is not None:
        # It answers (restarted in place, maybe already made writable again by a
        # pass that saw it before its restart count moved): read-only before the
        # drain, so no write lands on it that the chosen member could lack, and
        # never writable next to the member promoted below.
        try:
            sql.set_read_only(old.ip, creds.admin, True)
        except sql.MemberUnreachable as exc:
            raise TemporaryError(
                f"failover from {action.old} waits: it answered moments ago but "
                f"cannot be made read-only now ({exc})",
                delay=0.2,
            ) from exc

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

"""The MySQLCluster status: topology as petset last saw it, and conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from petset.api.meta import Obj
from petset.api.petset_kinds import MySQLClusterSpec
from petset.engines.mysql.topology import Decision, MemberView

# Status fields the lifecycle passes own (lifecycle_ops.py); None removes one.
LIFECYCLE_FIELDS = ("rollout", "config", "fenced", "hibernation")
HIBERNATION_PHASES = {"Stopping": "Hibernating", "Hibernated": "Hibernated", "Waking": "Waking"}


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts_ms(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _member(view: MemberView, primary: str | None, previous: dict[str, Any], now: float) -> Obj:
    st = view.status
    role = "primary" if view.name == primary else "replica"
    out: Obj = {"name": view.name, "role": role, "healthy": False}
    if view.ip:
        out["ip"] = view.ip
    if st is not None:
        out["gtid"] = str(st.position)
        out["healthy"] = role == "primary" or bool(st.replica and st.replica.healthy)
        if st.replica is not None:
            out["lagSeconds"] = st.replica.seconds_behind
            if st.replica.last_io_error or st.replica.last_sql_error:
                out["error"] = st.replica.last_sql_error or st.replica.last_io_error
    elif view.running:
        since = view.unreachable_since
        out["unreachableSince"] = (
            _ts_ms(since) if since is not None else previous.get("unreachableSince") or _ts_ms(now)
        )
    else:
        out["state"] = "not running" if view.pod_exists else "no pod"
    return out


def _condition(type_: str, ok: bool, reason: str, message: str, old: list[Obj], now: float) -> Obj:
    status = "True" if ok else "False"
    prev = next((c for c in old if c.get("type") == type_), None)
    since = prev["lastTransitionTime"] if prev and prev.get("status") == status else _ts(now)
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since,
    }


def build_status(
    obj: Obj,
    spec: MySQLClusterSpec,
    views: list[MemberView],
    decision: Decision,
    base: dict[str, Any],
    now: float,
) -> Obj:
    primary = base.get("primary")
    previous = {m["name"]: m for m in base.get("members") or []}
    members = [_member(v, primary, previous.get(v.name, {}), now) for v in views]
    fenced = set(base.get("fenced") or []) - {primary}
    for m in members:
        if m["name"] in fenced:
            m.update(fenced=True, healthy=False, state="fenced: no traffic, no replication")
    healthy = sum(1 for m in members if m["healthy"])
    expected = spec.replicas - len(fenced & {m["name"] for m in members})
    pview = next((v for v in views if v.name == primary), None)
    status: Obj = {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "initialized": bool(base.get("initialized")),
        "primary": primary,
        "replicas": spec.replicas,
        "readyMembers": healthy,
        "members": members,
        "message": decision.message,
    }
    semi = dict(base.get("semiSync") or {})
    if pview is not None and pview.status is not None:
        semi["primaryActive"] = pview.status.semi_sync_primary_on or not spec.semi_sync
        semi["clients"] = pview.status.semi_sync_clients
    semi["enabled"] = spec.semi_sync
    status["semiSync"] = semi
    # The primary's restartCount while it serves: a later increase means it died.
    if pview is not None and pview.status is not None and not pview.status.read_only:
        status["primaryRestarts"] = pview.restarts
    elif base.get("primaryRestarts") is not None:
        status["primaryRestarts"] = base["primaryRestarts"]
    for k in ("lastFailover", "lastSwitchover", "bootstrap", *LIFECYCLE_FIELDS):
        if base.get(k):
            status[k] = base[k]
    rollout = base.get("rollout") or {}
    halted = rollout.get("state") == "Halted"
    config_error = str((base.get("config") or {}).get("error") or "")
    # Ready means writable through the rw Service: it routes to the primary's pod
    # only once the pod is Ready, which can be a probe period after SQL answers.
    routed = pview is not None and pview.serving
    ready = (
        healthy == expected
        and primary is not None
        and routed
        and rollout.get("state") != "Progressing"
    )
    status["phase"] = "Ready" if ready else ("Blocked" if decision.blocked else "Progressing")
    if halted:
        status["phase"] = "Blocked"
    hibernation = (base.get("hibernation") or {}).get("state")
    if hibernation:
        status["phase"] = HIBERNATION_PHASES[hibernation]
    old = base.get("conditions") or []
    status["conditions"] = [
        _condition(
            "Ready",
            ready,
            "AllMembersHealthy" if ready else "MembersNotHealthy",
            f"{healthy}/{expected} members healthy"
            + (f" ({len(fenced)} fenced)" if fenced else "")
            + ("" if routed or primary is None else f"; {primary}'s pod is not Ready yet"),
            old,
            now,
        ),
        _condition(
            "FailoverBlocked",
            decision.blocked,
            "Blocked" if decision.blocked else "NotBlocked",
            decision.message if decision.blocked else "",
            old,
            now,
        ),
        _condition(
            "RolloutHalted",
            halted,
            "MemberNotHealthy" if halted else "NotHalted",
            str(rollout.get("message") or "") if halted else "",
            old,
            now,
        ),
        _condition(
            "ConfigRejected",
            bool(config_error),
            "ServerRefused" if config_error else "Accepted",
            config_error,
            old,
            now,
        ),
    ]
    # spec.bootstrap edited on a cluster that has data (backup/bootstrap.py decides)
    ignored = str((base.get("bootstrap") or {}).get("ignored") or "")
    status["conditions"].append(
        _condition(
            "BootstrapIgnored",
            bool(ignored),
            "ClusterHasData" if ignored else "NotIgnored",
            ignored,
            old,
            now,
        )
    )
    return status

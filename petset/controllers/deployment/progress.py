"""Progress reporting during a rollout: the Progressing condition and its deadline (progress.go)."""

from __future__ import annotations

import copy
from datetime import timedelta

from petset.api.meta import Obj
from petset.controllers.deployment import conditions as cond
from petset.controllers.deployment import util
from petset.controllers.deployment.common import parse_time
from petset.controllers.deployment.status import (
    calculate_status,
    deployment_complete,
    deployment_progressing,
)
from petset.controllers.deployment.sync import Sync


def check_paused_conditions(s: Sync) -> None:
    """Mark pause and resume on Progressing, so time spent paused never counts as no progress."""
    if not util.has_progress_deadline(s.d):
        return
    current = cond.get_condition(s.d.get("status"), cond.PROGRESSING)
    if current and current.get("reason") == cond.TIMED_OUT:
        return
    paused = bool(s.d["spec"].get("paused"))
    paused_noted = current is not None and current.get("reason") == cond.PAUSED
    if paused == paused_noted:
        return
    status = copy.deepcopy(s.d.get("status") or {})
    if paused:
        new = cond.new_condition(
            cond.PROGRESSING, "Unknown", cond.PAUSED, "Deployment is paused", s.now
        )
        s.note(f"Deployment {s.name} is paused: it scales but does not roll out.")
    else:
        new = cond.new_condition(
            cond.PROGRESSING, "Unknown", cond.RESUMED, "Deployment is resumed", s.now
        )
        s.note(f"Deployment {s.name} is resumed.")
    cond.set_condition(status, new)
    s.write_status(status)


def timed_out(s: Sync, status: Obj) -> bool:
    if not util.has_progress_deadline(s.d):
        return False
    current = cond.get_condition(status, cond.PROGRESSING)
    if current is None or current.get("reason") == cond.NEW_RS_AVAILABLE:
        return False
    if current.get("reason") == cond.TIMED_OUT:
        return True
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return False
    deadline = since + timedelta(seconds=int(s.d["spec"]["progressDeadlineSeconds"]))
    return deadline < s.now


def sync_rollout_status(s: Sync, all_rss: list[Obj], new_rs: Obj | None) -> float | None:
    """Write status with the Progressing condition; seconds until a deadline check, if due."""
    status = calculate_status(s.d, all_rss, new_rs, s.now)
    if not util.has_progress_deadline(s.d):
        cond.remove_condition(status, cond.PROGRESSING)
    current = cond.get_condition(s.d.get("status"), cond.PROGRESSING)
    settled = (
        status["replicas"] == status["updatedReplicas"]
        and current is not None
        and current.get("reason") == cond.NEW_RS_AVAILABLE
    )
    subject = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs else f'Deployment "{s.name}"'
    if util.has_progress_deadline(s.d) and not settled:
        if deployment_complete(s.d, status):
            message = f"{subject} has successfully progressed."
            cond.set_condition(
                status,
                cond.new_condition(cond.PROGRESSING, "True", cond.NEW_RS_AVAILABLE, message, s.now),
            )
            s.note(f"Rollout complete: {message}")
        elif deployment_progressing(s.d, status):
            new = cond.new_condition(
                cond.PROGRESSING,
                "True",
                cond.REPLICA_SET_UPDATED,
                f"{subject} is progressing.",
                s.now,
            )
            # progress refreshes lastUpdateTime even with the same reason (unlike set_condition)
            if current is not None and current.get("status") == "True":
                new["lastTransitionTime"] = current.get(
                    "lastTransitionTime", new["lastTransitionTime"]
                )
            cond.remove_condition(status, cond.PROGRESSING)
            cond.set_condition(status, new)
        elif timed_out(s, status):
            message = f"{subject} has timed out progressing."
            if current is None or current.get("reason") != cond.TIMED_OUT:
                s.event(cond.TIMED_OUT, message, warning=True)
                s.note(f"Progress deadline exceeded: {message}")
            cond.set_condition(
                status,
                cond.new_condition(cond.PROGRESSING, "False", cond.TIMED_OUT, message, s.now),
            )
    _promote_replica_failure(status, all_rss, new_rs)
    s.write_status(status)
    return _deadline_check_in(s, status)


def _promote_replica_failure(status: Obj, all_rss: list[Obj], new_rs: Obj | None) -> None:
    """A ReplicaSet that cannot create pods makes the Deployment report ReplicaFailure
    (the new ReplicaSet's failure first)."""
    ordered = ([new_rs] if new_rs else []) + [rs for rs in all_rss if rs is not new_rs]
    for rs in ordered:
        for c in (rs.get("status") or {}).get("conditions") or []:
            if c.get("type") == "ReplicaFailure":
                failure = {
                    "type": cond.REPLICA_FAILURE,
                    "status": c.get("status", "True"),
                    "reason": c.get("reason", ""),
                    "message": c.get("message", ""),
                    "lastTransitionTime": c.get("lastTransitionTime", ""),
                    "lastUpdateTime": c.get("lastTransitionTime", ""),
                }
                cond.set_condition(status, failure)
                return
    cond.remove_condition(status, cond.REPLICA_FAILURE)


def _deadline_check_in(s: Sync, status: Obj) -> float | None:
    """requeueStuckDeployment: when to look again so a stuck rollout is reported on time."""
    current = cond.get_condition(status, cond.PROGRESSING)
    if not util.has_progress_deadline(s.d) or current is None:
        return None
    if deployment_complete(s.d, status) or current.get("reason") in (
        cond.TIMED_OUT,
        cond.NEW_RS_AVAILABLE,
    ):
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    deadline = since + timedelta(seconds=int(s.d["spec"]["progressDeadlineSeconds"]))
    return max((deadline - s.now).total_seconds(), 0.0) + 1.0

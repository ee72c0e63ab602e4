"""The Deployment's status computed from its ReplicaSets (calculateStatus in sync.go)."""

from __future__ import annotations

import copy
from datetime import datetime

from petset.api.meta import Obj
from petset.controllers.deployment import conditions as cond
from petset.controllers.deployment import util


def calculate_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: datetime) -> Obj:
    available = util.total_status(all_rss, "availableReplicas")
    status: Obj = {
        "observedGeneration": d["metadata"].get("generation", 1),
        "replicas": util.total_status(all_rss, "replicas"),
        "updatedReplicas": util.status_int(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": util.total_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(util.total_spec(all_rss) - available, 0),
    }
    old = d.get("status") or {}
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    if available >= util.spec_replicas(d) - util.max_unavailable(d):
        cond.set_condition(
            status,
            cond.new_condition(
                cond.AVAILABLE,
                "True",
                cond.MINIMUM_REPLICAS_AVAILABLE,
                "Deployment has minimum availability.",
                now,
            ),
        )
    else:
        cond.set_condition(
            status,
            cond.new_condition(
                cond.AVAILABLE,
                "False",
                cond.MINIMUM_REPLICAS_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                now,
            ),
        )
    return status


def deployment_complete(d: Obj, status: Obj) -> bool:
    """Every desired replica is updated and available, and no old pods are left."""
    n = util.spec_replicas(d)
    return (
        int(status.get("updatedReplicas") or 0) == n
        and int(status.get("replicas") or 0) == n
        and int(status.get("availableReplicas") or 0) == n
        and int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation", 1))
    )


def deployment_progressing(d: Obj, new: Obj) -> bool:
    """New pods were added, became ready or available, or old pods went away."""
    old = d.get("status") or {}

    def get(s: Obj, f: str) -> int:
        return int(s.get(f) or 0)

    old_old = get(old, "replicas") - get(old, "updatedReplicas")
    new_old = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or new_old < old_old
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
    )

"""Recreate: remove every old pod, and only then start the new ones (recreate.go)."""

from __future__ import annotations

from petset.api.meta import Obj, uid_of
from petset.controllers.deployment import util
from petset.controllers.deployment.common import pod_phase
from petset.controllers.deployment.progress import sync_rollout_status
from petset.controllers.deployment.status import deployment_complete
from petset.controllers.deployment.sync import Sync


def rollout_recreate(s: Sync, rs_list: list[Obj]) -> float | None:
    new, olds = s.all_rss_and_sync_revision(rs_list, create=False)
    all_rss = [*olds, *([new] if new else [])]
    scaled_down = False
    for rs in util.active(olds):
        scaled_down |= s.scale_rs_and_record_event(rs, 0)
    if scaled_down:
        return sync_rollout_status(s, all_rss, new)
    if old_pods_running(s, new, olds):
        s.note("Waiting for the old pods to terminate before starting new ones.")
        return sync_rollout_status(s, all_rss, new)
    if new is None:
        new, olds = s.all_rss_and_sync_revision(rs_list, create=True)
        assert new is not None
        all_rss = [*olds, new]
    s.scale_rs_and_record_event(new, util.spec_replicas(s.d))
    if deployment_complete(s.d, s.d.get("status") or {}):
        s.cleanup(olds)
    return sync_rollout_status(s, all_rss, new)


def old_pods_running(s: Sync, new: Obj | None, olds: list[Obj]) -> bool:
    """Any pod of an old ReplicaSet that has not finished (terminating ones included)."""
    if util.total_status(olds, "replicas") > 0:
        return True
    for rs_uid, pods in s.pods_by_rs(olds).items():
        if new is not None and rs_uid == uid_of(new):
            continue
        if any(pod_phase(p) not in ("Failed", "Succeeded") for p in pods):
            return True
    return False

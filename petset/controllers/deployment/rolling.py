"""RollingUpdate: grow the new ReplicaSet within maxSurge, shrink old ones within
maxUnavailable, one step per pass (rolling.go)."""

from __future__ import annotations

from petset.api.meta import Obj
from petset.controllers.deployment import util
from petset.controllers.deployment.progress import sync_rollout_status
from petset.controllers.deployment.status import deployment_complete
from petset.controllers.deployment.sync import Sync


def rollout_rolling(s: Sync, rs_list: list[Obj]) -> float | None:
    new, olds = s.all_rss_and_sync_revision(rs_list, create=True)
    assert new is not None  # create=True either returns it or raises
    all_rss = [*olds, new]
    if reconcile_new_rs(s, all_rss, new):
        return sync_rollout_status(s, all_rss, new)
    if reconcile_old_rss(s, all_rss, util.active(olds), new):
        return sync_rollout_status(s, all_rss, new)
    if deployment_complete(s.d, s.d.get("status") or {}):
        s.cleanup(olds)
    return sync_rollout_status(s, all_rss, new)


def reconcile_new_rs(s: Sync, all_rss: list[Obj], new: Obj) -> bool:
    replicas = util.spec_replicas(s.d)
    if util.spec_replicas(new) == replicas:
        return False
    if util.spec_replicas(new) > replicas:
        return s.scale_rs_and_record_event(new, replicas)
    return s.scale_rs_and_record_event(new, util.new_rs_new_replicas(s.d, all_rss, new))


def reconcile_old_rss(s: Sync, all_rss: list[Obj], olds: list[Obj], new: Obj) -> bool:
    """Scale old ReplicaSets down as far as availability allows.

    maxScaledDown = all pods - minAvailable - unavailable new pods: counting the new
    ReplicaSet's unavailable pods keeps a crash-looping new template from eating the
    old, available pods (Kubernetes issue 16737 and its comments in rolling.go).
    """
    if util.total_spec(olds) == 0:
        return False
    min_available = util.spec_replicas(s.d) - util.max_unavailable(s.d)
    new_unavailable = util.spec_replicas(new) - util.available_lower_bound(new)
    max_scaled_down = util.total_spec(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    cleaned = cleanup_unhealthy_replicas(s, olds, max_scaled_down)
    scaled = scale_down_old_rss(s, [*olds, new], olds)
    return cleaned + scaled > 0


def cleanup_unhealthy_replicas(s: Sync, olds: list[Obj], limit: int) -> int:
    """Shrink old ReplicaSets by their unavailable pods first: removing those costs no
    availability, and they would otherwise block the rollout."""
    done = 0
    for rs in util.by_creation(olds):
        if done >= limit:
            break
        unhealthy = util.spec_replicas(rs) - util.available_lower_bound(rs)
        if util.spec_replicas(rs) == 0 or unhealthy <= 0:
            continue
        count = min(limit - done, unhealthy)
        s.scale_rs_and_record_event(rs, util.spec_replicas(rs) - count)
        done += count
    return done


def scale_down_old_rss(s: Sync, all_rss: list[Obj], olds: list[Obj]) -> int:
    """Shrink old ReplicaSets, oldest first, by what is available above minAvailable."""
    min_available = util.spec_replicas(s.d) - util.max_unavailable(s.d)
    available = sum(util.available_lower_bound(rs) for rs in all_rss)
    if available <= min_available:
        return 0
    budget = available - min_available
    done = 0
    for rs in util.by_creation(olds):
        if done >= budget:
            break
        if util.spec_replicas(rs) == 0:
            continue
        count = min(util.spec_replicas(rs), budget - done)
        s.scale_rs_and_record_event(rs, util.spec_replicas(rs) - count)
        done += count
    return done

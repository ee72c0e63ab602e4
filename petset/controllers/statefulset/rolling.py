"""Rolling a StatefulSet to its update revision, and the sentence a pass ends with.

Kubernetes' RollingUpdate: replicas at index >= partition whose revision is not
the update revision are deleted (and recreated at the update revision by the
next pass), highest ordinal first, one at a time, waiting for each to be
Ready and available. With `rollingUpdate.maxUnavailable` (Kubernetes'
MaxUnavailableStatefulSet feature) up to that many replicas may be down at
once. OnDelete only replaces pods a user deletes.

petset's extensions here:

* **Pause** (`petset.dev/paused: "true"` on the set, written by
  `petset rollout pause`): no pod is replaced for an update and new pods are
  made at the current revision; scaling works as usual. Resume removes the
  annotation.
* **Stuck-rollout recovery** (Kubernetes issue #67250): see `recover_stuck`.
* **A partition keeps the current revision** (Kubernetes issue #121534): the
  update revision becomes current only once no partition is in effect, so pods
  below the partition that were all gone at once come back at the current
  revision (`status.complete_rolling_update`).
"""

from __future__ import annotations

import math

from petset.api.meta import Obj, name_of
from petset.controllers.statefulset import podcontrol
from petset.controllers.statefulset.identity import (
    is_created,
    is_rolling_update,
    is_running_and_ready,
    is_terminating,
    pod_revision,
    replicas_of,
)
from petset.controllers.statefulset.plan import Snapshot, Step, effective_partition, names
from petset.controllers.statefulset.status import why_unready


def recover_stuck(snap: Snapshot) -> Step | None:
    """Replace a pod stuck at a template that has since been replaced.

    Upstream, a RollingUpdate that recreated a pod from a broken template waits
    forever for that pod to become Ready, even after the template is fixed or
    rolled back (kubernetes#67250), because every pass stops at the unready
    pod before it reaches the update. petset deletes, ahead of the normal
    order, the highest-ordinal replica for which ALL of these hold:

    * the strategy is RollingUpdate and the set is not paused;
    * its index is >= the partition (the rolling update would replace it anyway);
    * it carries a revision label that is neither the current revision nor
      the update revision: it was made for a template that is no longer
      wanted, i.e. the update revision changed after it was created (an
      adopted pod without a revision label follows the normal path) -- or
      it is at the current revision and is the very next pod the rolling
      update replaces (the highest index not at the update revision): a
      set whose first template never became Ready, then fixed, is the
      common case of #67250, and replacing the next target early keeps the
      order of the rollout;
    * it is not Running and Ready (still starting, crashing, or failing its
      readiness probe), and not already terminating.

    Such a pod is never kept: the rolling update would delete it as soon as it
    became Ready. Waiting for that Ready is all the rule skips, so it cannot
    touch a healthy pod, a pod below the partition, or a pod at the current
    revision other than the rollout's next target. One pod per pass; the next
    pass recreates it at the revision its index should have.
    """
    if not is_rolling_update(snap.sts) or snap.paused:
        return None
    partition = effective_partition(snap.sts)
    next_target = True  # every created pod above this index is updated and Ready
    for index in range(len(snap.replicas) - 1, partition - 1, -1):
        pod = snap.replicas[index]
        revision = pod_revision(pod)
        if not is_created(pod):
            continue
        if revision == snap.update:
            next_target = next_target and is_running_and_ready(pod)
            continue
        superseded = revision not in (snap.current, snap.update)
        next_current = next_target and revision == snap.current
        next_target = False
        if (
            revision
            and (superseded or next_current)
            and not is_terminating(pod)
            and not is_running_and_ready(pod)
        ):
            podcontrol.delete_pod(snap.cluster, snap.sts, pod)
            why = "stuck at superseded revision" if superseded else "not Ready at revision"
            return Step(
                f"replacing {name_of(pod)}: {why} {revision} "
                f"({why_unready(pod)}); it will be recreated at revision {snap.update}",
                "RecoveringStuckPod",
                acted=True,
            )
    return None


def max_unavailable(sts: Obj) -> int | None:
    """rollingUpdate.maxUnavailable as a count (percentages round down), at least 1."""
    rolling = sts["spec"]["updateStrategy"].get("rollingUpdate") or {}
    value = rolling.get("maxUnavailable")
    if value is None:
        return None
    count = replicas_of(sts)
    if isinstance(value, str) and value.endswith("%"):
        scaled = math.floor(count * int(value[:-1]) / 100)
    else:
        scaled = int(value)
    return max(scaled, 1)


def _updated(snap: Snapshot) -> int:
    return snap.updated_count()


def _progress(snap: Snapshot) -> str:
    return snap.progress()


def roll(snap: Snapshot) -> Step | None:
    """The rolling update after scaling settled; None when nothing is left to roll."""
    if snap.paused:
        return None
    limit = max_unavailable(snap.sts)
    if limit is not None:
        return _roll_with_budget(snap, limit)
    partition = effective_partition(snap.sts)
    for index in range(len(snap.replicas) - 1, partition - 1, -1):
        pod = snap.replicas[index]
        if pod_revision(pod) != snap.update and not is_terminating(pod):
            progress = _progress(snap)
            podcontrol.delete_pod(snap.cluster, snap.sts, pod)
            snap.deleted_for_update += 1
            return Step(
                f"updating {name_of(pod)} to revision {snap.update} ({progress})",
                "RollingUpdate",
                acted=True,
            )
        if snap.unavailable(pod):
            return _waiting(snap, pod)
    return None


def _roll_with_budget(snap: Snapshot, limit: int) -> Step | None:
    unavailable = [p for p in snap.replicas if snap.unavailable(p)]
    if len(unavailable) >= limit:
        if any(
            pod_revision(p) != snap.update for p in snap.replicas[effective_partition(snap.sts) :]
        ):
            return _waiting(snap, unavailable[0], budget=limit)
        return None
    progress = _progress(snap)
    deleted: list[Obj] = []
    partition = effective_partition(snap.sts)
    for index in range(len(snap.replicas) - 1, partition - 1, -1):
        if len(deleted) >= limit - len(unavailable):
            break
        pod = snap.replicas[index]
        if pod_revision(pod) != snap.update and not is_terminating(pod):
            podcontrol.delete_pod(snap.cluster, snap.sts, pod)
            snap.deleted_for_update += 1
            deleted.append(pod)
    if deleted:
        return Step(
            f"updating {names(deleted)} to revision {snap.update} ({progress})",
            "RollingUpdate",
            acted=True,
        )
    if unavailable:
        return _waiting(snap, unavailable[0], budget=limit)
    return None


def _waiting(snap: Snapshot, pod: Obj, budget: int | None = None) -> Step:
    why = why_unready(pod) if not is_running_and_ready(pod) else "not available yet"
    suffix = f"; maxUnavailable={budget}" if budget is not None else ""
    return Step(
        f"waiting for {name_of(pod)} to be Ready ({why}){suffix} ({_progress(snap)})",
        "Waiting",
    )


def summary(snap: Snapshot) -> Step:
    """The sentence for a pass that found nothing to do."""
    total = replicas_of(snap.sts)
    unready = [p for p in snap.replicas if snap.unavailable(p)]
    if unready:
        pod = unready[0]
        return Step(f"waiting for {name_of(pod)} to be Ready ({why_unready(pod)})", "Waiting")
    updated = _updated(snap)
    if updated == total:
        return Step(f"{total} of {total} pods Ready at revision {snap.update}", "RolloutComplete")
    if snap.paused:
        return Step(
            f"rollout paused: {updated} of {total} pods at revision {snap.update}; "
            f"run `petset rollout resume statefulset/{name_of(snap.sts)}` to continue",
            "RolloutPaused",
            status="Unknown",
        )
    if not is_rolling_update(snap.sts):
        return Step(
            f"OnDelete: {updated} of {total} pods at revision {snap.update}; "
            "delete the others to update them",
            "OnDelete",
        )
    partition = effective_partition(snap.sts)
    return Step(
        f"partitioned rollout: {updated} of {total} pods at revision {snap.update} "
        f"(indexes >= {partition}); lower rollingUpdate.partition to continue",
        "Partitioned",
    )

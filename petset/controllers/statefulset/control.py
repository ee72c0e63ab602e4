"""The StatefulSet reconcile pass: Kubernetes' `stateful_set_control.go`, in petset.

A pass observes the set, its revisions and its pods; splits the pods into
`replicas[index]` (ordinals start..start+replicas-1, gaps filled with planned
pods) and `condemned` (ordinals out of range); then

1. makes every replica exist and match its identity, in ascending order. With
   `podManagementPolicy: OrderedReady` (monotonic) it stops at the first pod it
   creates or that is not Running, Ready and available: no pod is created
   while a predecessor is unhealthy. `Parallel` creates them all at once;
2. deletes condemned pods, highest ordinal first; monotonic: one at a time and
   only while every other pod is healthy;
3. rolls the update (see `rolling.py`) unless the strategy is OnDelete.

Whatever happened, the status is counted and written (skipped when unchanged),
even after an error, and the history is pruned to revisionHistoryLimit.
"""

from __future__ import annotations

from petset.api.meta import Obj, name_of
from petset.controllers.statefulset import claims, podcontrol
from petset.controllers.statefulset.identity import (
    identity_matches,
    is_available,
    is_created,
    is_failed,
    is_pending,
    is_running_and_ready,
    is_succeeded,
    is_terminating,
    phase_of,
    replicas_of,
    storage_matches,
)
from petset.controllers.statefulset.plan import Snapshot, Step, names
from petset.controllers.statefulset.status import why_unready


def process_replica(snap: Snapshot, index: int) -> Step | None:
    """Make replica `index` exist and conform; a Step when the pass must stop here."""
    cluster, sts = snap.cluster, snap.sts
    pod = snap.replicas[index]
    name = name_of(pod)
    if is_failed(pod) or is_succeeded(pod):
        if not is_terminating(pod):
            podcontrol.delete_pod(cluster, sts, pod)
        return Step(
            f"recreating {name}: it stopped with phase {phase_of(pod)}",
            "Recreating",
            acted=True,
        )
    if not is_created(pod):
        if claims.claim_is_stale(cluster, sts, pod):
            return Step(f"waiting for the old claims of {name} to be deleted", "Waiting")
        created = podcontrol.create_pod(cluster, snap.update_set, pod)
        if snap.monotonic:
            count = replicas_of(sts)
            return Step(
                f"created {name} ({index + 1} of {count})", "Creating", event=False, acted=True
            )
        snap.notes.append(name)
        pod = created
    if is_pending(pod):
        claims.create_missing_claims(cluster, sts, pod)
    if snap.monotonic:
        if is_terminating(pod):
            return Step(f"waiting for {name} to terminate{snap.rollout_suffix()}", "Waiting")
        if not is_running_and_ready(pod):
            return Step(
                f"waiting for {name} to be Ready ({why_unready(pod)}){snap.rollout_suffix()}",
                "Waiting",
            )
        if not is_available(pod, snap.min_ready, snap.now):
            return Step(
                f"waiting for {name} to be available "
                f"(Ready for less than minReadySeconds={snap.min_ready}){snap.rollout_suffix()}",
                "Waiting",
            )
    if is_terminating(pod) or not is_created(pod):
        return None
    retention_ok = claims.claims_match_policy(cluster, snap.update_set, pod)
    if identity_matches(sts, pod) and storage_matches(sts, pod) and retention_ok:
        return None
    podcontrol.update_pod(cluster, snap.update_set, dict(pod))
    return None


def process_condemned(snap: Snapshot, index: int, first_unhealthy: Obj | None) -> Step | None:
    """Delete condemned pod `index` (highest ordinal first); a Step when the pass stops."""
    pod = snap.condemned[index]
    name = name_of(pod)
    target = replicas_of(snap.sts)
    if is_terminating(pod):
        if snap.monotonic:
            return Step(
                f"waiting for {name} to terminate (scaling down to {target})", "ScalingDown"
            )
        return None
    if snap.monotonic and pod is not first_unhealthy and snap.unavailable(pod):
        blocker = name_of(first_unhealthy) if first_unhealthy is not None else name
        return Step(
            f"waiting for {blocker} to be Ready before deleting {name} (scaling down to {target})",
            "Waiting",
        )
    podcontrol.delete_pod(snap.cluster, snap.sts, pod)
    return Step(
        f"deleting {name} (scaling down to {target})", "ScalingDown", event=False, acted=True
    )


def scale(snap: Snapshot) -> Step | None:
    """Steps 1 and 2 of the pass; None when every replica exists and nothing is condemned."""
    for index in range(len(snap.replicas)):
        step = process_replica(snap, index)
        if step is not None and snap.monotonic:
            return step
    cluster = snap.cluster
    for pod in snap.condemned:
        if not claims.claims_match_policy(cluster, snap.update_set, pod):
            claims.update_claims_for_policy(cluster, snap.update_set, pod)
    first_unhealthy = snap.first_unavailable()
    deleted: list[Obj] = []
    for index in range(len(snap.condemned)):
        step = process_condemned(snap, index, first_unhealthy)
        if step is None:
            continue
        if snap.monotonic:
            return step
        if step.acted:
            deleted.append(snap.condemned[index])
    if deleted:
        return Step(
            f"deleting {names(deleted)} (scaling down to {replicas_of(snap.sts)})",
            "ScalingDown",
            event=False,
            acted=True,
        )
    if snap.notes:
        return Step(f"created {', '.join(snap.notes)}", "Creating", event=False, acted=True)
    return None

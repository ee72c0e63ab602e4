"""One reconcile of a StatefulSet: observe, do at most one disruptive thing, report.

`sync` is the pass; `reconcile` is the `Controller` entry point that finds
the set, adopts what is its own and turns the pass into a `Result` whose
message is the same sentence the `Progressing` condition carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from petset.api.errors import NotFoundError, PetsetError
from petset.api.meta import Obj, ObjectKey, is_being_deleted, name_of, namespace_of
from petset.api.selectors import selector_from_spec
from petset.controllers import history
from petset.controllers.statefulset import adoption, claims, control, rolling, status
from petset.controllers.statefulset.identity import with_defaults
from petset.controllers.statefulset.plan import Snapshot, Step, split_pods
from petset.controllers.statefulset.revisions import (
    apply_revision,
    resolve_revisions,
    truncate_history,
)
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Result, TemporaryError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    step: Step
    status: dict[str, Any]
    error: PetsetError | None = None


def reconcile(cluster: Cluster, key: ObjectKey, *, clock: Clock = utc_now) -> Result:
    try:
        sts = with_defaults(cluster.get("StatefulSet", key.name, key.namespace))
    except NotFoundError:
        return Result(f"StatefulSet {key.name} is gone; nothing to do")
    selector = selector_from_spec(sts["spec"].get("selector"))
    if selector.empty:
        # Upstream treats an unusable selector as permanent: no retry.
        return Result(f"StatefulSet {key.name} has no selector; fix spec.selector")
    adoption.adopt_orphan_revisions(cluster, sts, selector)
    pods = adoption.claim_pods(cluster, sts, selector)
    outcome = sync(cluster, sts, pods, now=clock())
    if outcome.error is not None:
        raise TemporaryError(outcome.step.message)
    requeue = None
    min_ready = int(sts["spec"].get("minReadySeconds") or 0)
    if min_ready > 0 and outcome.status.get("availableReplicas") != sts["spec"]["replicas"]:
        requeue = float(min_ready)
    return Result(outcome.step.message, requeue_after=requeue)


def sync(cluster: Cluster, sts: Obj, pods: list[Obj], *, now: datetime) -> Outcome:
    """The pass over a defaulted set and the pods it owns."""
    selector = selector_from_spec(sts["spec"].get("selector"))
    revisions = history.list_controller_revisions(cluster, sts, selector)
    current, update, collision_count = resolve_revisions(cluster, sts, revisions)
    current_set, update_set = apply_revision(sts, current), apply_revision(sts, update)
    new_status: dict[str, Any] = {
        "observedGeneration": sts["metadata"].get("generation", 1),
        "currentRevision": name_of(current),
        "updateRevision": name_of(update),
        "collisionCount": collision_count,
    }
    replicas, condemned = split_pods(
        sts, current_set, update_set, name_of(current), name_of(update), pods
    )
    snap = Snapshot(
        cluster=cluster,
        sts=sts,
        current_set=current_set,
        update_set=update_set,
        current=name_of(current),
        update=name_of(update),
        now=now,
        replicas=replicas,
        condemned=condemned,
    )
    error: PetsetError | None = None
    try:
        step = _act(snap)
    except PetsetError as err:
        error = err
        step = Step(f"error: {err}", "Error", status="False")
    status.count_replicas(new_status, sts, replicas + condemned, snap.current, snap.update, now)
    new_status["currentReplicas"] -= snap.deleted_for_update
    try:
        _report(cluster, sts, new_status, step, now)
        truncate_history(cluster, sts, pods, revisions, {snap.current, snap.update})
    except PetsetError as err:
        if error is None:
            error, step = err, Step(f"error: {err}", "Error", status="False")
    return Outcome(step, new_status, error)


def _act(snap: Snapshot) -> Step:
    if is_being_deleted(snap.sts):
        return Step("being deleted; waiting for its pods to go", "Deleting", event=False)
    cluster, sts = snap.cluster, snap.sts
    expanded = claims.expand_claims(
        cluster, sts, cluster.list("PersistentVolumeClaim", namespace_of(sts))
    )
    step = rolling.recover_stuck(snap) or control.scale(snap)
    if step is not None:
        return step
    if sts["spec"]["updateStrategy"].get("type") != "OnDelete":
        step = rolling.roll(snap)
        if step is not None:
            return step
    if expanded:
        return Step("; ".join(expanded), "ExpandingClaims", event=False, acted=True)
    return rolling.summary(snap)


def _report(
    cluster: Cluster, sts: Obj, new_status: dict[str, Any], step: Step, now: datetime
) -> None:
    """Write the status with the step's condition; post an Event when the sentence is new."""
    conditions = [
        c
        for c in (sts.get("status") or {}).get("conditions") or []
        if c.get("type") != "Progressing"
    ]
    conditions.append(
        status.progressing_condition(
            sts, status=step.status, reason=step.reason, message=step.message, now=now
        )
    )
    new_status["conditions"] = conditions
    if step.event and step.message != status.previous_message(sts):
        cluster.record_event(
            sts,
            type="Warning" if step.reason == "Error" else "Normal",
            reason=step.reason,
            message=step.message,
        )
    status.write_status(cluster, sts, new_status)

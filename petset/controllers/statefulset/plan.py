"""One pass's snapshot of a StatefulSet and the outcome sentence it ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from petset.api.meta import Obj, name_of
from petset.controllers.statefulset.identity import (
    allows_burst,
    in_ordinal_range,
    is_created,
    is_paused,
    is_rolling_update,
    is_terminating,
    is_unavailable,
    min_ready_seconds,
    new_pod,
    ordinal_of,
    partition_of,
    pod_revision,
    replicas_of,
    start_ordinal,
)
from petset.runtime.cluster import Cluster


@dataclass(frozen=True)
class Step:
    """Where a pass stopped, as a sentence for the log, the condition and the Event."""

    message: str
    reason: str
    status: Literal["True", "False", "Unknown"] = "True"
    # Post an Event with the message (when it differs from the last one); steps
    # already covered by Kubernetes' own pod Events do not.
    event: bool = True
    # True when the pass changed something (created, deleted, updated a pod).
    acted: bool = False


@dataclass
class Snapshot:
    """The set at its current and update revisions and its pods, split by ordinal."""

    cluster: Cluster
    sts: Obj
    current_set: Obj
    update_set: Obj
    current: str
    update: str
    now: datetime
    replicas: list[Obj]
    condemned: list[Obj]
    deleted_for_update: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def monotonic(self) -> bool:
        return not allows_burst(self.sts)

    @property
    def min_ready(self) -> int:
        return min_ready_seconds(self.sts)

    @property
    def paused(self) -> bool:
        return is_paused(self.sts)

    def unavailable(self, pod: Obj) -> bool:
        return is_unavailable(pod, self.min_ready, self.now)

    def updated_count(self) -> int:
        return sum(
            1
            for p in self.replicas
            if is_created(p) and not is_terminating(p) and pod_revision(p) == self.update
        )

    def progress(self) -> str:
        """`2 of 3 updated`: replicas at the update revision of those that should be."""
        wanted = max(len(self.replicas) - effective_partition(self.sts), 0)
        return f"{self.updated_count()} of {wanted} updated"

    def rollout_suffix(self) -> str:
        """` (2 of 3 updated)` while a rollout is under way, else nothing."""
        return f" ({self.progress()})" if self.current != self.update else ""

    def first_unavailable(self) -> Obj | None:
        for pod in self.replicas:
            if self.unavailable(pod):
                return pod
        for pod in reversed(self.condemned):
            if self.unavailable(pod):
                return pod
        return None


def effective_partition(sts: Obj) -> int:
    """Replica indexes below this stay at the current revision.

    A paused set (petset's extension) behaves as if the partition covered
    every replica: nothing is rolled and new pods are made at the current
    revision, so scaling while paused does not sneak the update out.
    """
    if is_paused(sts):
        return replicas_of(sts)
    if is_rolling_update(sts):
        return partition_of(sts)
    return 0


def planned_pod(
    sts: Obj, current_set: Obj, update_set: Obj, current: str, update: str, ordinal: int
) -> Obj:
    """The pod to create at `ordinal`: current revision below the partition, else update."""
    if ordinal < start_ordinal(sts) + effective_partition(sts):
        return new_pod(current_set, ordinal, current)
    return new_pod(update_set, ordinal, update)


def split_pods(
    sts: Obj, current_set: Obj, update_set: Obj, current: str, update: str, pods: list[Obj]
) -> tuple[list[Obj], list[Obj]]:
    """(replicas by index, with planned pods in the gaps; condemned, highest ordinal first).

    Pods whose names carry no ordinal are ignored, as upstream does.
    """
    start, count = start_ordinal(sts), replicas_of(sts)
    slots: list[Obj | None] = [None] * count
    condemned: list[Obj] = []
    for pod in pods:
        if in_ordinal_range(pod, sts):
            slots[ordinal_of(pod) - start] = pod
        elif ordinal_of(pod) >= 0:
            condemned.append(pod)
    replicas = [
        slot
        if slot is not None
        else planned_pod(sts, current_set, update_set, current, update, start + i)
        for i, slot in enumerate(slots)
    ]
    condemned.sort(key=ordinal_of, reverse=True)
    return replicas, condemned


def names(pods: list[Obj]) -> str:
    return ", ".join(name_of(p) for p in pods)

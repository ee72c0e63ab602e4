"""StatefulSet revisions: what a revision records, how the current and update
revisions are found, and how old ones are pruned (Kubernetes' algorithm).

A revision records only the pod template, as the patch
`{"spec": {"template": {..., "$patch": "replace"}}}` that restores it; its
labels are the template's labels plus the hash label; its annotations are the
set's annotations at the time (so `kubernetes.io/change-cause` travels with it).
"""

from __future__ import annotations

import copy
from typing import Any

from petset.api.meta import Obj, annotations_of, name_of
from petset.controllers import history
from petset.controllers.statefulset.identity import pod_revision
from petset.runtime.cluster import Cluster


def get_patch(sts: Obj) -> dict[str, Any]:
    """The data of a revision of `sts`: a patch that restores its pod template."""
    template = copy.deepcopy(sts["spec"].get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of_revision(revision: Obj) -> Obj:
    """The pod template a revision records."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template"))
    if not isinstance(template, dict):
        return {}
    template.pop("$patch", None)
    return template


def new_revision(sts: Obj, number: int, collision_count: int) -> Obj:
    template_labels = ((sts["spec"].get("template") or {}).get("metadata") or {}).get("labels")
    revision = history.new_controller_revision(
        sts,
        template_labels=dict(template_labels or {}),
        data=get_patch(sts),
        revision=number,
        collision_count=collision_count,
    )
    annotations = annotations_of(sts)
    if annotations:
        revision["metadata"]["annotations"] = annotations
    return revision


def apply_revision(sts: Obj, revision: Obj) -> Obj:
    """`sts` as it was at `revision` (its template replaced by the recorded one)."""
    clone = copy.deepcopy(sts)
    clone["spec"]["template"] = template_of_revision(revision)
    return clone


def next_revision_number(revisions: list[Obj]) -> int:
    """One more than the newest; `revisions` sorted oldest first."""
    return history.revision_number(revisions[-1]) + 1 if revisions else 1


def resolve_revisions(cluster: Cluster, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
    """(current revision, update revision, collision count) for `sts`.

    The update revision is the set's template now: the newest revision if it
    already records it, an older equal revision given the next number (a
    rollback reuses its revision rather than adding a twin), or a new one.
    The current revision is the one status names; a set without one starts
    its history at the update revision.
    """
    revisions = history.sort_revisions(revisions)
    status = sts.get("status") or {}
    collision_count = int(status.get("collisionCount") or 0)
    candidate = new_revision(sts, next_revision_number(revisions), collision_count)
    equal = history.find_equal_revisions(revisions, candidate)
    if equal and history.equal_revision(revisions[-1], equal[-1]):
        update = revisions[-1]
    elif equal:
        update = history.update_revision_number(
            cluster, equal[-1], history.revision_number(candidate)
        )
    else:
        update, collision_count = history.create_controller_revision(
            cluster, sts, candidate, collision_count
        )
    current = next(
        (r for r in revisions if name_of(r) == status.get("currentRevision")),
        update,
    )
    return current, update, collision_count


def truncate_history(
    cluster: Cluster,
    sts: Obj,
    pods: list[Obj],
    revisions: list[Obj],
    live_names: set[str],
) -> list[str]:
    """Delete the oldest revisions no pod uses until revisionHistoryLimit remain.

    `live_names` are the current and update revisions; every pod's revision is
    live too. Returns the names deleted.
    """
    live = set(live_names) | {pod_revision(p) for p in pods}
    old = [r for r in history.sort_revisions(revisions) if name_of(r) not in live]
    limit = int(sts["spec"].get("revisionHistoryLimit", 10))
    if limit < 0 or len(old) <= limit:
        return []
    doomed = old[: len(old) - limit]
    for revision in doomed:
        history.delete_controller_revision(cluster, revision)
    return [name_of(r) for r in doomed]

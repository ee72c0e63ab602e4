"""ControllerRevisions: the recorded history of a controller's template.

The same rules as Kubernetes' `pkg/controller/history`: a revision is named
`<parent>-<hash>`, where the hash is FNV-32 over the revision's data (the JSON
bytes) followed by the decimal collision count, rendered with apimachinery's
"safe" alphabet; a name collision with different data bumps the parent's
collisionCount and tries again. Revisions are ordered by their `revision`
number (ties: creation time, then name). Shared by the StatefulSet controller
and any other controller that keeps a history.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError
from petset.api.meta import Obj, controller_ref, labels_of, name_of, namespace_of, uid_of
from petset.api.selectors import Selector
from petset.runtime.cluster import Cluster

HASH_LABEL = "controller.kubernetes.io/hash"
# apimachinery's rand alphabet: no vowels, no 0/1/3 (avoids words and look-alikes).
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193
_MAX_PREFIX = 223  # keeps `<prefix>-<hash>` within a 253-character name
_MAX_RETRIES = 10


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces): what the hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fnv32(data: bytes) -> int:
    """FNV-1 32-bit (Go's `fnv.New32`, which Kubernetes uses for revisions)."""
    h = _FNV32_OFFSET
    for byte in data:
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
        h ^= byte
    return h


def safe_encode(text: str) -> str:
    """apimachinery's SafeEncodeString: each character mapped into the safe alphabet."""
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def hash_revision(data: Any, collision_count: int | None) -> str:
    """The hash part of a revision name for `data` at `collision_count`."""
    raw = canonical_json(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    return f"{prefix[:_MAX_PREFIX]}-{hash_}"


def revision_number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def new_controller_revision(
    parent: Obj,
    *,
    template_labels: dict[str, str],
    data: Any,
    revision: int,
    collision_count: int,
) -> Obj:
    """An unsaved ControllerRevision owned (controller=true) by `parent`."""
    hash_ = hash_revision(data, collision_count)
    labels = dict(template_labels)
    labels[HASH_LABEL] = hash_
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": revision_name(name_of(parent), hash_),
            "namespace": namespace_of(parent),
            "labels": labels,
            "ownerReferences": [_controller_ref_to(parent)],
        },
        "data": copy.deepcopy(data),
        "revision": revision,
    }


def _controller_ref_to(parent: Obj) -> dict[str, Any]:
    return {
        "apiVersion": parent.get("apiVersion", "apps/v1"),
        "kind": parent.get("kind", ""),
        "name": name_of(parent),
        "uid": uid_of(parent),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def sort_revisions(revisions: list[Obj]) -> list[Obj]:
    """Oldest first: by revision number, then creation time, then name."""
    return sorted(
        revisions,
        key=lambda r: (
            revision_number(r),
            str((r.get("metadata") or {}).get("creationTimestamp", "")),
            name_of(r),
        ),
    )


def equal_revision(lhs: Obj | None, rhs: Obj | None) -> bool:
    """Same recorded data (the hash label is only a shortcut for a difference)."""
    if lhs is None or rhs is None:
        return lhs is rhs
    lh, rh = labels_of(lhs).get(HASH_LABEL), labels_of(rhs).get(HASH_LABEL)
    if lh is not None and rh is not None and lh.isdigit() and rh.isdigit() and lh != rh:
        return False
    return canonical_json(lhs.get("data")) == canonical_json(rhs.get("data"))


def find_equal_revisions(revisions: list[Obj], needle: Obj) -> list[Obj]:
    return [r for r in revisions if equal_revision(r, needle)]


def list_controller_revisions(cluster: Cluster, parent: Obj, selector: Selector) -> list[Obj]:
    """Revisions in the parent's namespace matching `selector`, owned by it or by nobody."""
    owned = []
    for rev in cluster.list("ControllerRevision", namespace_of(parent)):
        if not selector.matches(labels_of(rev)):
            continue
        ref = controller_ref(rev)
        if ref is None or ref.get("uid") == uid_of(parent):
            owned.append(rev)
    return owned


def create_controller_revision(
    cluster: Cluster, parent: Obj, revision: Obj, collision_count: int
) -> tuple[Obj, int]:
    """Create `revision`, renaming on a collision; returns it and the new collision count.

    An existing revision with the same name and the same data is returned as is
    (someone, maybe an earlier pass of ours, already created it).
    """
    clone = copy.deepcopy(revision)
    while True:
        hash_ = hash_revision(revision.get("data"), collision_count)
        clone["metadata"]["name"] = revision_name(name_of(parent), hash_)
        clone["metadata"]["namespace"] = namespace_of(parent)
        try:
            return cluster.create(clone), collision_count
        except AlreadyExistsError:
            existing = cluster.get("ControllerRevision", name_of(clone), namespace_of(parent))
            if canonical_json(existing.get("data")) == canonical_json(clone.get("data")):
                return existing, collision_count
            collision_count += 1


def update_revision_number(cluster: Cluster, revision: Obj, number: int) -> Obj:
    """Give an existing revision a new number (a rollback to it makes it newest again)."""
    clone = copy.deepcopy(revision)
    for _ in range(_MAX_RETRIES):
        if revision_number(clone) == number:
            return clone
        clone["revision"] = number
        try:
            return cluster.update(clone)
        except ConflictError:
            clone = cluster.get("ControllerRevision", name_of(clone), namespace_of(clone))
    raise ConflictError(f"ControllerRevision {name_of(clone)}: gave up after repeated conflicts")


def adopt_controller_revision(cluster: Cluster, parent: Obj, revision: Obj) -> Obj:
    """Make `parent` the controller of an orphan revision."""
    if controller_ref(revision) is not None:
        raise ConflictError(f"ControllerRevision {name_of(revision)} already has a controller")
    refs = list((revision.get("metadata") or {}).get("ownerReferences") or [])
    refs.append(_controller_ref_to(parent))
    return cluster.patch(
        "ControllerRevision",
        name_of(revision),
        namespace_of(revision),
        {"metadata": {"ownerReferences": refs}},
    )


def delete_controller_revision(cluster: Cluster, revision: Obj) -> None:
    with contextlib.suppress(NotFoundError):
        cluster.delete(
            "ControllerRevision", name_of(revision), namespace_of(revision), uid=uid_of(revision)
        )

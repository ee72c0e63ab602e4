"""The garbage collector: ownerReferences decide what outlives what.

As Kubernetes' GC: an object all of whose owners are gone (by uid) is deleted
in the background; an owner deleted with Foreground propagation waits (its
`foregroundDeletion` finalizer) until its blocking dependents are gone; an
owner deleted with Orphan propagation has its dependents' references to it
removed before its `orphan` finalizer is. Decisions always re-read the
cluster; the dependents graph below only says which keys to look at.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Literal

from petset.api.errors import ConflictError, NotFoundError
from petset.api.kinds import KINDS, UnknownKindError, is_namespaced
from petset.api.meta import Obj, ObjectKey, is_being_deleted, namespace_of, uid_of
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result, TemporaryError

NAME = "garbage-collector"
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
OwnerState = Literal["present", "absent", "waiting", "unknown"]


class DependentsGraph:
    """uid of an owner -> keys of the objects that reference it, learned from
    every object the watches deliver (Kubernetes' GC keeps the same graph)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dependents: dict[str, set[ObjectKey]] = {}
        # key -> (uid of the object known there, uids of its owners)
        self._nodes: dict[ObjectKey, tuple[str, frozenset[str]]] = {}

    def observe(self, obj: Obj) -> bool:
        """Record `obj`'s owners; True when they differ from what was known."""
        key = ObjectKey.of(obj)
        node = (uid_of(obj), frozenset(str(r.get("uid")) for r in _refs(obj)))
        with self._lock:
            known = self._nodes.get(key)
            if known == node:
                return False
            self._unlink(key, known[1] if known else frozenset())
            for uid in node[1]:
                self._dependents.setdefault(uid, set()).add(key)
            self._nodes[key] = node
            return True

    def forget(self, key: ObjectKey, uid: str | None = None) -> None:
        """Drop what is known at `key` (only if it is object `uid`, when given: a
        late event about a deleted object must not erase its successor)."""
        with self._lock:
            known = self._nodes.get(key)
            if known is None or (uid is not None and known[0] != uid):
                return
            del self._nodes[key]
            self._unlink(key, known[1])

    def _unlink(self, key: ObjectKey, uids: frozenset[str]) -> None:
        for uid in uids:
            deps = self._dependents.get(uid)
            if deps is not None:
                deps.discard(key)
                if not deps:
                    del self._dependents[uid]

    def dependents(self, uid: str) -> list[ObjectKey]:
        with self._lock:
            return sorted(self._dependents.get(uid, ()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._nodes)


def _refs(obj: Obj) -> list[dict[str, object]]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def _finalizers(obj: Obj) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def _owner_key(dependent: Obj, ref: dict[str, object]) -> ObjectKey | None:
    """Where the owner named by `ref` lives; None when that cannot be resolved
    (unknown kind, or a cluster-scoped dependent naming a namespaced owner)."""
    kind = str(ref.get("kind") or "")
    try:
        namespaced = is_namespaced(kind)
    except UnknownKindError:
        return None
    namespace = namespace_of(dependent)
    if namespaced and not namespace:
        return None
    return ObjectKey(kind, namespace if namespaced else "", str(ref.get("name") or ""))


def _exists(cluster: Cluster, obj: Obj) -> bool:
    key = ObjectKey.of(obj)
    try:
        return uid_of(cluster.get(key.kind, key.name, key.namespace)) == uid_of(obj)
    except NotFoundError:
        return False


def owner_state(cluster: Cluster, dependent: Obj, ref: dict[str, object]) -> OwnerState:
    key = _owner_key(dependent, ref)
    if key is None:
        return "unknown"
    try:
        owner = cluster.get(key.kind, key.name, key.namespace)
    except NotFoundError:
        return "absent"
    if uid_of(owner) != ref.get("uid"):
        return "absent"
    if is_being_deleted(owner) and FOREGROUND in _finalizers(owner):
        return "waiting"
    return "present"


def find_dependents(cluster: Cluster, owner: Obj) -> list[Obj]:
    """Every object referencing `owner` by uid, read from the cluster (not the
    graph, so a restart cannot make an owner look dependent-free)."""
    uid = uid_of(owner)
    namespace = namespace_of(owner)
    found = []
    for info in KINDS:
        if namespace and not info.namespaced:
            continue  # cluster-scoped objects cannot have namespaced owners
        for obj in cluster.list(info.kind, namespace or None):
            if any(r.get("uid") == uid for r in _refs(obj)):
                found.append(obj)
    return found


def _remove_finalizer(cluster: Cluster, obj: Obj, finalizer: str) -> None:
    key = ObjectKey.of(obj)
    patch = {
        "metadata": {
            "finalizers": [f for f in _finalizers(obj) if f != finalizer] or None,
            "resourceVersion": obj["metadata"]["resourceVersion"],
        }
    }
    try:
        cluster.patch(key.kind, key.name, key.namespace, patch)
    except ConflictError:
        raise TemporaryError(f"{key} changed while removing {finalizer}; retrying") from None


def _drop_refs(cluster: Cluster, obj: Obj, uids: set[str]) -> None:
    key = ObjectKey.of(obj)
    kept = [r for r in _refs(obj) if r.get("uid") not in uids]
    patch = {
        "metadata": {
            "ownerReferences": kept or None,
            "resourceVersion": obj["metadata"]["resourceVersion"],
        }
    }
    try:
        cluster.patch(key.kind, key.name, key.namespace, patch)
    except ConflictError:
        raise TemporaryError(f"{key} changed while removing owner references") from None
    except NotFoundError:
        pass


def _delete(cluster: Cluster, obj: Obj, propagation: Literal["Background", "Foreground"]) -> None:
    key = ObjectKey.of(obj)
    # NotFound: already gone; Conflict: recreated under the same name, not ours.
    with contextlib.suppress(NotFoundError, ConflictError):
        cluster.delete(key.kind, key.name, key.namespace, propagation=propagation, uid=uid_of(obj))


def orphan_dependents(cluster: Cluster, owner: Obj) -> Result:
    dependents = find_dependents(cluster, owner)
    for dep in dependents:
        _drop_refs(cluster, dep, {uid_of(owner)})
    _remove_finalizer(cluster, owner, ORPHAN)
    return Result(f"orphaned {len(dependents)} dependents")


def delete_dependents_first(cluster: Cluster, owner: Obj) -> Result:
    uid = uid_of(owner)
    dependents = find_dependents(cluster, owner)
    for dep in dependents:
        if not is_being_deleted(dep):
            _delete(cluster, dep, "Foreground")
    blocking = sorted(
        str(ObjectKey.of(d))
        for d in dependents
        if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in _refs(d))
        and _exists(cluster, d)
    )
    if blocking:
        return Result(f"waiting for {len(blocking)} dependents to go: {', '.join(blocking)}")
    _remove_finalizer(cluster, owner, FOREGROUND)
    return Result("dependents gone; deleting")


def collect_if_orphaned(cluster: Cluster, obj: Obj) -> Result:
    states = [(ref, owner_state(cluster, obj, ref)) for ref in _refs(obj)]
    unknown = [f"{r.get('kind')}/{r.get('name')}" for r, s in states if s == "unknown"]
    if unknown:
        return Result(f"owner {', '.join(unknown)} cannot be resolved; leaving it")
    present = [f"{r.get('kind')}/{r.get('name')}" for r, s in states if s == "present"]
    if present:
        stale = {str(r.get("uid")) for r, s in states if s != "present"}
        if stale:
            _drop_refs(cluster, obj, stale)
            return Result(f"owned by {', '.join(present)}; dropped references to deleted owners")
        return Result(f"owned by {', '.join(present)}")
    if is_being_deleted(obj):
        return Result("owners gone; being deleted")
    waiting = any(s == "waiting" for _, s in states)
    _delete(cluster, obj, "Foreground" if waiting else "Background")
    return Result("owners gone; deleted")


def reconcile(cluster: Cluster, key: ObjectKey, graph: DependentsGraph) -> Result:
    try:
        obj = cluster.get(key.kind, key.name, key.namespace)
    except NotFoundError:
        graph.forget(key)
        return Result("gone")
    graph.observe(obj)
    if is_being_deleted(obj):
        if ORPHAN in _finalizers(obj):
            return orphan_dependents(cluster, obj)
        if FOREGROUND in _finalizers(obj):
            return delete_dependents_first(cluster, obj)
    if not _refs(obj):
        return Result("no owners")
    return collect_if_orphaned(cluster, obj)


def _keys_to_check(cluster: Cluster, obj: Obj, graph: DependentsGraph) -> list[ObjectKey]:
    """Which objects a change of `obj` may concern: itself when its owners changed
    or it is being deleted; when it is going or gone, its dependents (their owner
    may be gone) and its owners (one may wait for it to go)."""
    key = ObjectKey.of(obj)
    related = graph.dependents(uid_of(obj))
    related += [k for k in (_owner_key(obj, r) for r in _refs(obj)) if k is not None]
    if not _exists(cluster, obj):
        graph.forget(key, uid_of(obj))
        return related
    deleting = is_being_deleted(obj)
    keys = [key] if graph.observe(obj) or deleting else []
    return keys + related if deleting else keys


def controller(graph: DependentsGraph | None = None) -> Controller:
    """The collector; pass `graph` to look at what it learned (tests)."""
    graph = graph if graph is not None else DependentsGraph()

    def mapper(cluster: Cluster, obj: Obj) -> list[ObjectKey]:
        return _keys_to_check(cluster, obj, graph)

    def run(cluster: Cluster, key: ObjectKey) -> Result:
        return reconcile(cluster, key, graph)

    # The collector looks at objects of every kind: keys carry their kind and every
    # kind goes through the same mapper. `kind` has to name one; Namespace objects
    # are few and would be enqueued by the mapper anyway.
    return Controller(
        name=NAME,
        kind="Namespace",
        reconcile=run,
        watches=tuple((info.kind, mapper) for info in KINDS),
        workers=2,
    )

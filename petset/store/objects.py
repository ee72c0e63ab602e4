"""Pure rules for what a write does to an object: defaults on create, what an
update may change, generation, finalizers on delete. No I/O here."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Literal

from petset.api.errors import ConflictError, InvalidError
from petset.api.kinds import UnknownKindError, is_namespaced, kind_info
from petset.api.meta import Obj, ObjectKey

Propagation = Literal["Background", "Foreground", "Orphan"]
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"

# Fields of metadata the server owns: an update cannot change them.
_SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def key_of(kind: str, name: str, namespace: str | None) -> ObjectKey:
    """The store key; cluster-scoped kinds ignore the namespace they are given."""
    try:
        namespaced = is_namespaced(kind)
    except UnknownKindError as err:
        raise InvalidError(str(err)) from None
    return ObjectKey(kind, (namespace or "default") if namespaced else "", name)


def normalize_identity(obj: Obj) -> Obj:
    """A copy with kind checked, apiVersion filled and namespace set as the store keys it."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InvalidError("object has no kind; set `kind:` (e.g. StatefulSet)")
    obj = copy.deepcopy(obj)
    key = key_of(kind, "x", (obj.get("metadata") or {}).get("namespace"))
    obj.setdefault("apiVersion", kind_info(kind).api_version)
    md = obj.setdefault("metadata", {})
    if not isinstance(md, dict):
        raise InvalidError(f"{kind}: metadata must be a mapping")
    if key.namespace:
        md["namespace"] = key.namespace
    else:
        md.pop("namespace", None)
    return obj


def prepare_create(obj: Obj, *, now: float) -> Obj:
    """The object as first stored (without resourceVersion, which the store assigns)."""
    obj = normalize_identity(obj)
    md = obj["metadata"]
    if not md.get("name"):
        if not md.get("generateName"):
            raise InvalidError(f"{obj['kind']}: metadata.name: required")
        md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
    for f in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
        md.pop(f, None)
    md["uid"] = str(uuid.uuid4())
    md["creationTimestamp"] = iso(now)
    md["generation"] = 1
    return obj


def check_resource_version(current: Obj, incoming: Obj) -> None:
    rv = (incoming.get("metadata") or {}).get("resourceVersion")
    if rv and str(rv) != str(current["metadata"]["resourceVersion"]):
        raise ConflictError(
            f"{current['kind']} {current['metadata']['name']!r}: the object has been "
            "modified; read it again and re-apply your change"
        )


def prepare_update(current: Obj, incoming: Obj) -> Obj:
    """`update`: everything but status and server-owned metadata comes from `incoming`."""
    check_resource_version(current, incoming)
    new = normalize_identity(incoming)
    cur_md = current["metadata"]
    md = new["metadata"]
    for f in _SERVER_FIELDS:
        if f in cur_md:
            md[f] = cur_md[f]
        else:
            md.pop(f, None)
    md["resourceVersion"] = cur_md["resourceVersion"]
    if "status" in current:
        new["status"] = copy.deepcopy(current["status"])
    else:
        new.pop("status", None)
    generation = int(cur_md.get("generation") or 1)
    md["generation"] = generation + 1 if new.get("spec") != current.get("spec") else generation
    return new


def prepare_status_update(current: Obj, incoming: Obj) -> Obj:
    """`update_status`: only status comes from `incoming`."""
    check_resource_version(current, incoming)
    new = copy.deepcopy(current)
    if "status" in incoming and incoming["status"] is not None:
        new["status"] = copy.deepcopy(incoming["status"])
    else:
        new.pop("status", None)
    return new


def is_gone(obj: Obj) -> bool:
    """Deleting and no finalizer left: the store removes it for good."""
    md = obj["metadata"]
    return bool(md.get("deletionTimestamp")) and not md.get("finalizers")


def prepare_delete(
    current: Obj, propagation: Propagation, *, now: float, grace_period_seconds: int | None = None
) -> Obj | None:
    """What a delete request turns `current` into: None to remove it now, else the
    object to store (deletionTimestamp set, the policy's finalizer added), which may
    equal `current` when nothing changes. A grace period (DeleteOptions'
    gracePeriodSeconds) is recorded for the kubelet; a shorter one later wins."""
    new = copy.deepcopy(current)
    md = new["metadata"]
    if grace_period_seconds is not None:
        old = md.get("deletionGracePeriodSeconds")
        if old is None or grace_period_seconds < int(old):
            md["deletionGracePeriodSeconds"] = grace_period_seconds
    finalizers = list(md.get("finalizers") or [])
    wanted = {"Foreground": FOREGROUND, "Orphan": ORPHAN}.get(propagation)
    if wanted:
        # One policy at a time, as Kubernetes: Orphan replaces Foreground and back.
        finalizers = [f for f in finalizers if f not in (FOREGROUND, ORPHAN)] + [wanted]
    if md.get("deletionTimestamp") and not wanted:
        return new  # already deleting: only a shorter grace period changes anything
    if not finalizers:
        return None
    md["finalizers"] = finalizers
    md.setdefault("deletionTimestamp", iso(now))
    return new

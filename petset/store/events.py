"""Events in core/v1 shape, deduplicated like Kubernetes' EventCorrelator:
the same object, reason, message, source and type within ten minutes bumps
`count` and `lastTimestamp` of the existing Event instead of adding one."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from petset.api.meta import Obj
from petset.store.objects import parse_iso

DEDUP_WINDOW_SECONDS = 600.0


def involved_ref(involved: Obj) -> dict[str, Any]:
    md = involved.get("metadata") or {}
    ref = {
        "kind": involved.get("kind"),
        "name": md.get("name"),
        "namespace": md.get("namespace") or "",
        "uid": md.get("uid") or "",
        "apiVersion": involved.get("apiVersion") or "",
    }
    if md.get("resourceVersion"):
        ref["resourceVersion"] = str(md["resourceVersion"])
    return ref


def dedup_key(event: Obj) -> str:
    """What makes two Events "the same" (resourceVersion of the object excluded)."""
    ref = {k: v for k, v in (event.get("involvedObject") or {}).items() if k != "resourceVersion"}
    parts = [
        ref,
        event.get("reason"),
        event.get("message"),
        (event.get("source") or {}).get("component"),
        event.get("type"),
    ]
    return json.dumps(parts, sort_keys=True)


def new_event(
    involved: Obj, *, type: str, reason: str, message: str, source: str, timestamp: str
) -> Obj:
    ref = involved_ref(involved)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            # Kubernetes names events <object>.<unique suffix>.
            "name": f"{ref['name']}.{uuid.uuid4().hex[:16]}",
            "namespace": ref["namespace"] or "default",
        },
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "type": type,
        "source": {"component": source},
        "count": 1,
        "firstTimestamp": timestamp,
        "lastTimestamp": timestamp,
    }


def bumped(current: Obj, candidate: Obj, now: float) -> Obj | None:
    """`current` counted once more, or None when it is too old to absorb `candidate`."""
    if now - parse_iso(current["lastTimestamp"]) > DEDUP_WINDOW_SECONDS:
        return None
    new = copy.deepcopy(current)
    new["count"] = int(current.get("count") or 1) + 1
    new["lastTimestamp"] = candidate["lastTimestamp"]
    new["involvedObject"] = candidate["involvedObject"]
    return new

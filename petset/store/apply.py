"""kubectl-apply semantics as pure functions: what the user applied is kept in
the last-applied annotation, and a new apply is merged three ways so fields set
by controllers (status, spec.clusterIP, ...) survive."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from petset.api.merge import three_way_merge
from petset.api.meta import Obj

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)

Defaults = Callable[[Obj], Obj]
ApplyAction = Literal["created", "configured", "unchanged"]


@dataclass(frozen=True)
class ApplyResult:
    obj: Obj
    action: ApplyAction


def applied_config(obj: Obj) -> Obj:
    """The user's intent as recorded in the annotation: no status, no server fields."""
    cfg = copy.deepcopy(obj)
    cfg.pop("status", None)
    md = cfg.setdefault("metadata", {})
    for f in _SERVER_METADATA:
        md.pop(f, None)
    annotations = dict(md.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    if annotations:
        md["annotations"] = annotations
    else:
        md.pop("annotations", None)
    return cfg


def last_applied(live: Obj) -> Obj | None:
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def with_last_applied(obj: Obj, cfg: Obj) -> Obj:
    out = copy.deepcopy(obj)
    md = out.setdefault("metadata", {})
    annotations = dict(md.get("annotations") or {})
    annotations[LAST_APPLIED] = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
    md["annotations"] = annotations
    return out


def object_to_create(cfg: Obj, defaults: Defaults | None) -> Obj:
    obj = with_last_applied(cfg, cfg)
    return defaults(obj) if defaults else obj


def merged_update(live: Obj, cfg: Obj, defaults: Defaults | None) -> Obj | None:
    """The object to write for an apply over `live`, or None when the user's
    config is what they applied last time (nothing is written at all)."""
    previous = last_applied(live)
    if previous == cfg:
        return None
    merged = with_last_applied(three_way_merge(previous, cfg, live), cfg)
    return defaults(merged) if defaults else merged

"""kubectl-apply semantics as pure functions: what the user applied is kept in
the last-applied annotation, and a new apply is merged three ways so fields set
by controllers (status, spec.clusterIP, ...) survive.

As kubectl's three-way patch, removals come from (last applied -> config) and
changes from (live -> config): a field the config sets is set again when the
live object has drifted from it (`rollout undo`, an edit, a patch), even though
the annotation still equals the config. Lists are whole values, as in a JSON
merge patch."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from petset.api.merge import merge_patch, three_way_merge
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


def drift_patch(live: Any, desired: Any) -> Any:
    """The merge patch that sets every value `desired` gives where `live` differs,
    removing nothing (kubectl's changes-and-additions half of a three-way patch)."""
    if not isinstance(desired, dict):
        return copy.deepcopy(desired)
    live = live if isinstance(live, dict) else {}
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        if value is None or live.get(key) == value:
            continue  # an explicit null is a removal: the three-way merge's business
        sub = drift_patch(live.get(key), value)
        if sub != {} or key not in live:
            patch[key] = sub
    return patch


def merged_update(live: Obj, cfg: Obj, defaults: Defaults | None) -> Obj | None:
    """The object to write for an apply over `live`, or None when it would not
    change anything (nothing is written at all).

    The annotation equal to `cfg` does not make an apply a no-op: a server-side
    change since (rollout undo) is undone by re-applying the user's values, as
    kubectl does; defaults are applied before comparing, so fields the API
    server fills in do not count as drift."""
    merged = three_way_merge(last_applied(live), cfg, live)
    merged = with_last_applied(merge_patch(merged, drift_patch(merged, cfg)), cfg)
    if defaults:
        merged = defaults(merged)
    return None if merged == live else merged

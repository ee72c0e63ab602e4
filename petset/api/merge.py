"""JSON merge patch (RFC 7386) and the three-way merge behind `apply`."""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch; returns a new value, inputs untouched."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def diff_patch(old: Any, new: Any) -> Any:
    """The merge patch that turns `old` into `new` (keys gone from `new` become null)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return copy.deepcopy(new)
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = copy.deepcopy(value)
        elif old[key] != value:
            if isinstance(old[key], dict) and isinstance(value, dict):
                patch[key] = diff_patch(old[key], value)
            else:
                patch[key] = copy.deepcopy(value)
    return patch


def three_way_merge(last_applied: Any, desired: Any, live: Any) -> Any:
    """kubectl apply's merge: what the user removed since `last_applied` is removed,
    what they set is set, and fields others (controllers) set in `live` stay."""
    return merge_patch(live, diff_patch(last_applied or {}, desired))

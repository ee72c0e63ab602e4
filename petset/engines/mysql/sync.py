"""Create or update an owned object only when the live one lacks what we want.

"Lacks" is a subset test, not equality: the API server (and petset's store)
adds defaults and controllers add fields (a Service's clusterIP); comparing
for equality would rewrite the object on every pass forever.
"""

from __future__ import annotations

from typing import Any

from petset.api.errors import AlreadyExistsError, NotFoundError
from petset.api.meta import Obj, name_of, namespace_of
from petset.runtime.cluster import Cluster


def is_subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and is_subset(v, have[k]) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(is_subset(w, h) for w, h in zip(want, have, strict=True))
        )
    return bool(want == have)


def _overlay(live: Obj, desired: Obj) -> Obj:
    """desired's content on live's identity; server-set Service addresses survive."""
    out = dict(live)
    for key, value in desired.items():
        if key == "metadata":
            md = dict(live.get("metadata") or {})
            for mk in ("labels", "annotations", "ownerReferences"):
                if mk in value:
                    md[mk] = value[mk]
            out["metadata"] = md
        elif key == "spec" and desired.get("kind") == "Service":
            spec = dict(value)
            for keep in ("clusterIP", "clusterIPs"):
                if keep in (live.get("spec") or {}) and keep not in spec:
                    spec[keep] = live["spec"][keep]
            out["spec"] = spec
        else:
            out[key] = value
    return out


def ensure_object(cluster: Cluster, desired: Obj) -> Obj:
    kind, name, ns = desired["kind"], name_of(desired), namespace_of(desired)
    try:
        live = cluster.get(kind, name, ns)
    except NotFoundError:
        try:
            return cluster.create(desired)
        except AlreadyExistsError:
            live = cluster.get(kind, name, ns)
    wanted = {k: v for k, v in desired.items() if k not in ("metadata", "apiVersion", "kind")}
    md = desired.get("metadata") or {}
    wanted_md = {k: md[k] for k in ("labels", "annotations") if k in md}
    if is_subset(wanted, live) and is_subset(wanted_md, live.get("metadata") or {}):
        return live
    return cluster.update(_overlay(live, desired))

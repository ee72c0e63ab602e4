"""Whether a MySQLCluster's spec.bootstrap is in use or ignored.

A restore never overwrites an existing cluster: spec.bootstrap acts only
before the cluster is initialized (its first primary restores instead of
starting empty). What it was then is kept in `status.bootstrap.used`; a
bootstrap added or changed later is ignored, and the status says so
(`status.bootstrap.ignored`, the BootstrapIgnored condition, an Event) rather
than leaving the user to wonder why nothing was restored. The pod template
keeps rendering the bootstrap in use, so editing spec.bootstrap on a running
cluster does not roll its members either.
"""

from __future__ import annotations

from typing import Any

from petset.api.meta import Obj
from petset.api.petset_kinds import MySQLClusterSpec
from petset.runtime.cluster import Cluster

Bootstrap = dict[str, Any] | None


def spec_bootstrap(spec: MySQLClusterSpec) -> Bootstrap:
    """spec.bootstrap as the user wrote it (camelCase, no defaults)."""
    if spec.bootstrap is None:
        return None
    return spec.bootstrap.model_dump(by_alias=True, exclude_none=True)


def bootstrap_state(spec_bootstrap: Bootstrap, status: dict[str, Any]) -> dict[str, Any]:
    """The next `status.bootstrap` ({"used": ..., "ignored": message or absent}).

    Before initialization the spec is what the first member will use; from
    then on `used` is frozen. A cluster initialized before petset recorded it
    has no record: its spec is taken as used (the best that can be known)."""
    recorded = status.get("bootstrap")
    if recorded is None or not status.get("initialized"):
        return {"used": spec_bootstrap}
    used = recorded.get("used")
    if spec_bootstrap is None or spec_bootstrap == used:  # removing one after use is tidying up
        return {"used": used}
    return {"used": used, "ignored": ignored_message(spec_bootstrap, used)}


def describe(bootstrap: dict[str, Any]) -> str:
    """`fromBackup b1, pointInTime gtid 0-1-9` (what a bootstrap would restore)."""
    parts = []
    if name := (bootstrap.get("fromBackup") or {}).get("name"):
        parts.append(f"fromBackup {name}")
    pit = bootstrap.get("pointInTime") or {}
    target = [f"{k} {pit[k]}" for k in ("cluster", "timestamp", "gtid") if pit.get(k)]
    if target:
        parts.append("pointInTime " + " ".join(target))
    return ", ".join(parts)


def ignored_message(spec_bootstrap: dict[str, Any], used: Bootstrap) -> str:
    what = "added" if used is None else "changed"
    return (
        f"spec.bootstrap ({describe(spec_bootstrap)}) was {what} but is ignored: the "
        "cluster already has data and a "
        "restore never overwrites an existing cluster; apply a new MySQLCluster with this "
        "bootstrap to restore"
    )


def template_bootstrap(cluster_obj: Obj, spec_bootstrap: Bootstrap) -> Bootstrap:
    """The bootstrap the pod template renders: the one in use once the cluster
    is initialized (so an ignored edit does not roll the members)."""
    status = cluster_obj.get("status") or {}
    recorded = status.get("bootstrap")
    if status.get("initialized") and recorded is not None:
        used: Bootstrap = recorded.get("used")
        return used
    return spec_bootstrap


def track_bootstrap(
    cluster: Cluster, obj: Obj, spec_bootstrap: Bootstrap, status: dict[str, Any]
) -> dict[str, Any]:
    """Status fields for this pass; an Event when the bootstrap becomes ignored
    (or the ignored one changes)."""
    state = bootstrap_state(spec_bootstrap, status)
    before = (status.get("bootstrap") or {}).get("ignored")
    if state.get("ignored") and state["ignored"] != before:
        cluster.record_event(
            obj, type="Warning", reason="BootstrapIgnored", message=state["ignored"]
        )
    return {"bootstrap": state}

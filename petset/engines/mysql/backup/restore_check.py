"""Before a new cluster restores, check that its spec.bootstrap can be met.

The restore itself runs in init-data of the cluster's first member; when it
cannot work (no such backup, no completed backup before the point, no
archived binlogs to replay) that container fails and the reason sits in its
log. This controller reads the same store the restore will read, makes the
same choice of base backup (`choose_base`), and says what will happen, or
why it cannot, as Events on the MySQLCluster (`RestorePlanned`,
`RestoreImpossible`, and `BootstrapMayBeIgnored` when the first member's
volume outlived an earlier cluster of the same name) while the cluster is
not initialized. It never writes
the cluster's status: that belongs to the MySQLCluster controller.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from petset.api.errors import InvalidError, NotFoundError
from petset.api.meta import Obj, ObjectKey
from petset.api.petset_kinds import parse_mysqlcluster
from petset.engines.mysql.backup.bootstrap import Bootstrap, spec_bootstrap
from petset.engines.mysql.backup.restore import (
    RestoreError,
    RestoreRequest,
    choose_base,
    store_host_path,
)
from petset.engines.mysql.backup.store import open_store
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result

RECHECK = 10.0  # a backup or archived binlogs may yet appear


def restore_plan(bootstrap: dict[str, object], namespace: str, store_root: str) -> str:
    """What the restore will do, in a sentence; RestoreError when it cannot."""
    pit = bootstrap.get("pointInTime") or {}
    base = bootstrap.get("fromBackup") or {}
    assert isinstance(pit, dict) and isinstance(base, dict)
    req = RestoreRequest(
        store=store_root,
        namespace=namespace,
        backup=base.get("name"),
        cluster=pit.get("cluster"),
        timestamp=pit.get("timestamp"),
        gtid=pit.get("gtid"),
    )
    store = open_store(store_root)
    key, meta = choose_base(store, req)
    plan = f"restoring backup {key} (GTID {meta.get('gtid') or 'empty'})"
    if not req.point_in_time:
        return plan
    source = req.cluster or str(meta.get("cluster") or "")
    if not store.segments(f"{namespace}/{source}"):
        raise RestoreError(
            f"no archived binlogs of cluster {source} in the store: the point in time "
            "cannot be reached (enable spec.binlogArchive on the source cluster)"
        )
    target = f"GTID {req.gtid}" if req.gtid else f"{req.timestamp} (exclusive)"
    return f"{plan}, then replaying binlogs of {source} up to {target}"


def reconcile_restore_check(cluster: Cluster, key: ObjectKey, *, store_root: Path) -> Result:
    try:
        obj = cluster.get("MySQLCluster", key.name, key.namespace)
    except NotFoundError:
        return Result(f"MySQLCluster {key.name} is gone")
    if (obj.get("status") or {}).get("initialized") or obj["metadata"].get("deletionTimestamp"):
        return Result("nothing to restore: the cluster is initialized")
    try:
        bootstrap: Bootstrap = spec_bootstrap(parse_mysqlcluster(obj).spec)
    except InvalidError:
        return Result("spec is invalid")
    if bootstrap is None:
        return Result("no spec.bootstrap")
    kept = kept_volume(cluster, obj)
    if kept is not None:
        # whether that volume holds data only its member can see: say both outcomes
        msg = (
            f"the volume {kept} was kept from an earlier cluster of this name: if it holds "
            "data, the first member keeps that data and spec.bootstrap is not restored "
            "(a restore never overwrites data); delete the PersistentVolumeClaim first to "
            "restore into it"
        )
        cluster.record_event(obj, type="Warning", reason="BootstrapMayBeIgnored", message=msg)
    root = store_host_path(bootstrap, str(store_root))
    assert root is not None
    return _say(cluster, obj, bootstrap, root)


def kept_volume(cluster: Cluster, obj: Obj) -> str | None:
    """The first member's claim when it is older than the cluster object: it
    survived a deleted cluster of the same name (the claims are retained)."""
    md = obj["metadata"]
    claim = f"data-{md['name']}-0"
    try:
        pvc = cluster.get("PersistentVolumeClaim", claim, md.get("namespace") or "default")
    except NotFoundError:
        return None
    born, created = pvc["metadata"].get("creationTimestamp"), md.get("creationTimestamp")
    # RFC 3339 UTC strings of one format compare in time order
    return claim if born and created and str(born) < str(created) else None


def _say(cluster: Cluster, obj: Obj, bootstrap: dict[str, object], root: str) -> Result:
    try:
        plan = restore_plan(bootstrap, obj["metadata"]["namespace"], root)
    except (RestoreError, OSError, ValueError) as exc:
        msg = f"spec.bootstrap cannot be restored: {exc}"
        cluster.record_event(obj, type="Warning", reason="RestoreImpossible", message=msg)
        return Result(msg, requeue_after=RECHECK)
    cluster.record_event(obj, type="Normal", reason="RestorePlanned", message=plan)
    return Result(plan)


def restore_check_controller(store_root: Path) -> Controller:
    return Controller(
        name="mysql-restore-check",
        kind="MySQLCluster",
        reconcile=partial(reconcile_restore_check, store_root=store_root),
    )

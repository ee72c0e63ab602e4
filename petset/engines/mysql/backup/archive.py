"""The binlog-archive controller: keeps one archiver on each MySQLCluster's
current primary when `spec.binlogArchive.enabled`, following failovers.

It reads the cluster's status (primary and member IPs, written by the
MySQLCluster controller) and never writes it; what it does goes to Events.
"""

from __future__ import annotations

import base64
from functools import partial

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey
from petset.api.petset_kinds import parse_mysqlcluster
from petset.engines.mysql import sql
from petset.engines.mysql.backup.binlogs import Archivers
from petset.engines.mysql.render import secret_name
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result, TemporaryError

CHECK_EVERY = 2.0


def admin_credentials(cluster: Cluster, obj: Obj) -> sql.Credentials:
    spec = parse_mysqlcluster(obj).spec
    secret = cluster.get("Secret", secret_name(obj, spec), obj["metadata"]["namespace"])
    raw = (secret.get("stringData") or {}).get("admin-password")
    if raw is None:
        data = (secret.get("data") or {}).get("admin-password")
        if data is None:
            raise TemporaryError("the cluster's Secret has no admin-password yet", delay=2)
        raw = base64.b64decode(data).decode()
    return sql.Credentials("petset_admin", str(raw))


def reconcile_archive(cluster: Cluster, key: ObjectKey, *, archivers: Archivers) -> Result:
    archive = f"{key.namespace}/{key.name}"
    try:
        obj = cluster.get("MySQLCluster", key.name, key.namespace)
    except NotFoundError:
        archivers.stop(archive)
        return Result("cluster gone: archiving stopped")
    enabled = bool(((obj.get("spec") or {}).get("binlogArchive") or {}).get("enabled"))
    if not enabled or obj["metadata"].get("deletionTimestamp"):
        if archivers.stop(archive) is not None:
            cluster.record_event(
                obj, type="Normal", reason="BinlogArchiveStopped", message="archiving stopped"
            )
        return Result("binlog archiving is off")
    status = obj.get("status") or {}
    primary = status.get("primary")
    pm = next((m for m in status.get("members") or [] if m.get("name") == primary), None)
    current = archivers.get(archive)
    if pm is None or not pm.get("healthy") or not pm.get("ip"):
        return Result("waiting for a healthy primary to archive from", requeue_after=CHECK_EVERY)
    if current is not None and (current.member, current.host) == (primary, pm["ip"]):
        if current.alive:
            return Result(f"archiving binlogs from {primary}", requeue_after=CHECK_EVERY)
        cluster.record_event(
            obj,
            type="Warning",
            reason="BinlogArchiveRestarted",
            message=f"archiving from {primary} stopped ({current.error}); starting again",
        )
    archivers.stop(archive)
    creds = admin_credentials(cluster, obj)
    archivers.start(archive, member=str(primary), host=str(pm["ip"]), creds=creds)
    cluster.record_event(
        obj,
        type="Normal",
        reason="BinlogArchiveStarted",
        message=f"archiving binlogs from the primary {primary} into the backup store",
    )
    return Result(f"started archiving binlogs from {primary}", requeue_after=CHECK_EVERY)


def archive_controller(archivers: Archivers) -> Controller:
    return Controller(
        name="mysql-binlog-archive",
        kind="MySQLCluster",
        reconcile=partial(reconcile_archive, archivers=archivers),
    )

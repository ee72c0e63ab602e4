"""The Backup controller: one backup per Backup object, phases
Pending -> Running -> Completed | Failed, never re-run once finished.

The stream runs in a `BackupRunner` thread; reconcile only starts it, polls it
every second (status.progress) and records the outcome. A daemon restart
mid-backup loses the stream (the store never shows a partial backup): the
next pass finds phase Running with no job, says so in an Event and starts
again, up to MAX_ATTEMPTS times. Deleting a Backup deletes its data (a
finalizer), cancelling a running stream first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey
from petset.engines.mysql.backup.backup import BackupJob, BackupRunner, choose_source
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result

FINALIZER = "petset.dev/backup-data"
MAX_ATTEMPTS = 3
POLL = 1.0


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def store_key(obj: Obj) -> str:
    md = obj["metadata"]
    return f"{md.get('namespace') or 'default'}/{md['name']}"


def _set_status(cluster: Cluster, obj: Obj, fields: dict[str, Any]) -> None:
    md = obj["metadata"]
    cluster.patch("Backup", md["name"], md.get("namespace") or "default", {"status": fields})


def _finish(cluster: Cluster, runner: BackupRunner, obj: Obj, job: BackupJob, now: float) -> str:
    status = obj.get("status") or {}
    took = round(now - job.started, 2)
    if job.error is not None:
        msg = f"backup from {job.source.member} failed: {job.error}"
        _set_status(
            cluster,
            obj,
            {
                "phase": "Failed",
                "message": msg,
                "completionTime": rfc3339(now),
                "durationSeconds": took,
            },
        )
        cluster.record_event(obj, type="Warning", reason="BackupFailed", message=msg)
        runner.forget(obj["metadata"]["uid"])
        return msg
    r = job.result or {}
    fields = {
        "phase": "Completed",
        "completionTime": rfc3339(now),
        "durationSeconds": took,
        "size": r["size"],
        "sha256": r["sha256"],
        "gtid": r.get("gtid", ""),
        "binlog": {"file": r["binlogFile"], "position": r["binlogPosition"]},
        "serverVersion": r.get("serverVersion", ""),
        "progress": {"bytes": r["size"]},
        "location": {"store": "local", "key": job.key},
    }
    mb = r["size"] / 1e6
    fields["message"] = (
        f"{mb:.1f} MB from {job.source.member} ({job.source.role}) in {took:.1f}s at "
        f"GTID {fields['gtid'] or '(empty)'}"
    )
    meta = {
        **{k: v for k, v in status.items() if k in ("source", "startTime", "clusterSpec")},
        **fields,
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"].get("namespace") or "default",
        "uid": obj["metadata"]["uid"],
        "cluster": obj["spec"]["cluster"],
    }
    runner.store.put_metadata(job.key, meta)
    _set_status(cluster, obj, fields)
    cluster.record_event(obj, type="Normal", reason="BackupCompleted", message=fields["message"])
    runner.forget(obj["metadata"]["uid"])
    return str(fields["message"])


def _start(cluster: Cluster, runner: BackupRunner, obj: Obj, now: float) -> Result:
    status = obj.get("status") or {}
    ns = obj["metadata"].get("namespace") or "default"
    spec = obj["spec"]
    attempts = int(status.get("attempts") or 0)
    if status.get("phase") == "Running":
        if attempts >= MAX_ATTEMPTS:
            msg = f"gave up after {attempts} attempts interrupted by daemon restarts"
            _set_status(cluster, obj, {"phase": "Failed", "message": msg})
            return Result(msg)
        cluster.record_event(
            obj,
            type="Warning",
            reason="BackupRestarted",
            message="the daemon restarted while this backup streamed; the partial stream was "
            f"discarded, starting again (attempt {attempts + 1} of {MAX_ATTEMPTS})",
        )
    try:
        source_cluster = cluster.get("MySQLCluster", spec["cluster"], ns)
    except NotFoundError:
        return _pending(cluster, obj, f"MySQLCluster {spec['cluster']} not found", 5)
    cstatus = source_cluster.get("status") or {}
    if not cstatus.get("initialized"):
        return _pending(cluster, obj, f"MySQLCluster {spec['cluster']} is not initialized yet", 2)
    source = choose_source(cstatus, spec.get("source"))
    if isinstance(source, str):
        return _pending(cluster, obj, source, 2)
    job = runner.start(obj["metadata"]["uid"], store_key(obj), source)
    _set_status(
        cluster,
        obj,
        {
            "phase": "Running",
            "attempts": attempts + 1,
            "startTime": rfc3339(job.started),
            "source": {"member": source.member, "role": source.role},
            "clusterSpec": source_cluster.get("spec") or {},
            "progress": {"bytes": 0},
            "message": f"streaming {source.message}",
        },
    )
    if source.role == "primary":
        cluster.record_event(
            obj, type="Warning", reason="BackupFromPrimary", message=source.message
        )
    else:
        cluster.record_event(obj, type="Normal", reason="BackupStarted", message=source.message)
    return Result(f"started backup {source.message}", requeue_after=POLL)


def _pending(cluster: Cluster, obj: Obj, msg: str, again: float) -> Result:
    status = obj.get("status") or {}
    if status.get("phase") != "Pending" or status.get("message") != msg:
        _set_status(cluster, obj, {"phase": "Pending", "message": msg})
    return Result(f"pending: {msg}", requeue_after=again)


def _delete(cluster: Cluster, runner: BackupRunner, obj: Obj) -> Result:
    uid = obj["metadata"]["uid"]
    job = runner.get(uid)
    if job is not None and not job.done.is_set():
        runner.cancel(uid)
        return Result("cancelling the running backup before deleting it", requeue_after=0.5)
    runner.forget(uid)
    runner.store.delete(store_key(obj))
    left = [f for f in obj["metadata"].get("finalizers") or [] if f != FINALIZER]
    md = obj["metadata"]
    cluster.patch(
        "Backup",
        md["name"],
        md.get("namespace") or "default",
        {"metadata": {"finalizers": left or None}},
    )
    return Result("deleted the backup's data")


def reconcile_backup(
    cluster: Cluster, key: ObjectKey, *, runner: BackupRunner, clock: Callable[[], float]
) -> Result:
    try:
        obj = cluster.get("Backup", key.name, key.namespace)
    except NotFoundError:
        return Result(f"Backup {key.name} is gone")
    md = obj["metadata"]
    finalizers = list(md.get("finalizers") or [])
    if md.get("deletionTimestamp"):
        return _delete(cluster, runner, obj) if FINALIZER in finalizers else Result("deleting")
    if FINALIZER not in finalizers:
        obj = cluster.patch(
            "Backup",
            key.name,
            key.namespace,
            {"metadata": {"finalizers": [*finalizers, FINALIZER]}},
        )
    phase = (obj.get("status") or {}).get("phase", "Pending")
    if phase in ("Completed", "Failed"):
        return Result(f"{phase.lower()}: nothing to do")
    job = runner.get(md["uid"])
    if job is None:
        return _start(cluster, runner, obj, clock())
    if job.done.is_set():
        return Result(_finish(cluster, runner, obj, job, clock()))
    now = clock()
    if now - job.reported < POLL:  # our own status write woke us: not yet
        return Result(f"streaming: {job.bytes} bytes", requeue_after=POLL - (now - job.reported))
    job.reported = now
    took = max(now - job.started, 0.001)
    _set_status(
        cluster,
        obj,
        {"progress": {"bytes": job.bytes, "bytesPerSecond": int(job.bytes / took)}},
    )
    return Result(f"streaming: {job.bytes} bytes", requeue_after=POLL)


def backup_controller(
    runner: BackupRunner, *, clock: Callable[[], float] = time.time
) -> Controller:
    return Controller(
        name="backup",
        kind="Backup",
        reconcile=partial(reconcile_backup, runner=runner, clock=clock),
    )

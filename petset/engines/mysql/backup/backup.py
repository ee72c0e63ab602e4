"""Taking one backup: choose a source member, stream mariadb-backup from its
agent into the store, describe the result.

`take_backup` is the blocking work (it runs in a `BackupRunner` thread, never
in a controller worker); `choose_source` is the pure decision of where to
take it from.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from petset.engines.mysql.backup.store import CHUNK, BackupStore


class BackupFailed(Exception):
    pass


class Cancelled(BackupFailed):
    pass


@dataclass(frozen=True)
class Source:
    member: str
    ip: str
    role: str  # replica | primary
    message: str


def _ordinal(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def choose_source(cluster_status: dict[str, Any], preferred: str | None) -> Source | str:
    """A healthy replica (the requested one, else the least lagging, highest
    ordinal first); the primary only when no replica is healthy. Returns a
    sentence saying why there is none otherwise."""
    members = [m for m in cluster_status.get("members") or [] if m.get("healthy") and m.get("ip")]
    replicas = [m for m in members if m.get("role") == "replica"]
    primary = next((m for m in members if m.get("role") == "primary"), None)
    if preferred:
        chosen = next((m for m in members if m["name"] == preferred), None)
        if chosen is None:
            return f"spec.source: member {preferred} is not healthy (or does not exist)"
        return Source(chosen["name"], chosen["ip"], chosen["role"], f"from {preferred} as asked")
    if replicas:
        best = min(replicas, key=lambda m: (m.get("lagSeconds") or 0, -_ordinal(m["name"])))
        return Source(best["name"], best["ip"], "replica", f"from replica {best['name']}")
    if primary is not None:
        return Source(
            primary["name"],
            primary["ip"],
            "primary",
            f"from the primary {primary['name']}: no replica is healthy, so the backup "
            "loads the primary",
        )
    return "no healthy member to back up from"


@dataclass
class BackupJob:
    """One running backup; the controller polls it (thread-safe reads)."""

    key: str  # store key <namespace>/<name>
    backup_id: str
    source: Source
    started: float
    bytes: int = 0
    reported: float = 0.0  # when status.progress was last written
    result: dict[str, Any] | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)


def _get_json(url: str, timeout: float = 10) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        doc = json.loads(resp.read())
    if not isinstance(doc, dict):
        raise BackupFailed(f"{url}: not a JSON object")
    return doc


def take_backup(store: BackupStore, job: BackupJob, *, agent_port: int) -> dict[str, Any]:
    """Stream the backup into the store; returns what mariadb-backup and the
    store say about it (gtid, binlog coordinates, size, sha256)."""
    base = f"http://{job.source.ip}:{agent_port}"

    def chunks(resp: Any) -> Iterator[bytes]:
        while chunk := resp.read(CHUNK):
            if job.cancel.is_set():
                raise Cancelled("cancelled")
            yield chunk

    def progress(n: int) -> None:
        job.bytes = n

    try:
        with urllib.request.urlopen(f"{base}/backup?id={job.backup_id}", timeout=60) as resp:
            stored = store.put(job.key, chunks(resp), progress=progress)
        info = _get_json(f"{base}/backup-info?id={job.backup_id}")
    except OSError as exc:
        store.delete(job.key)
        raise BackupFailed(f"streaming from {job.source.member} failed: {exc}") from exc
    except BaseException:
        store.delete(job.key)
        raise
    if info.get("exitCode") != 0 or "binlogFile" not in info:
        store.delete(job.key)
        raise BackupFailed(
            f"mariadb-backup on {job.source.member} failed: {info.get('error') or info}"
        )
    return {**info, "size": stored.size, "sha256": stored.sha256}


class BackupRunner:
    """Runs backups in threads of its own so no controller worker waits on a
    stream; jobs are keyed by the Backup's uid."""

    def __init__(self, store: BackupStore, *, agent_port: int) -> None:
        self.store = store
        self.agent_port = agent_port
        self._jobs: dict[str, BackupJob] = {}
        self._lock = threading.Lock()

    def get(self, uid: str) -> BackupJob | None:
        with self._lock:
            return self._jobs.get(uid)

    def start(self, uid: str, key: str, source: Source) -> BackupJob:
        now = time.time()
        job = BackupJob(key=key, backup_id=uid, source=source, started=now, reported=now)
        with self._lock:
            self._jobs[uid] = job
        threading.Thread(target=self._run, args=(job,), name=f"backup-{key}", daemon=True).start()
        return job

    def _run(self, job: BackupJob) -> None:
        try:
            job.result = take_backup(self.store, job, agent_port=self.agent_port)
        except Exception as exc:  # reported in the Backup's status, never lost
            job.error = str(exc) or type(exc).__name__
        finally:
            job.done.set()

    def forget(self, uid: str) -> None:
        with self._lock:
            self._jobs.pop(uid, None)

    def cancel(self, uid: str) -> None:
        job = self.get(uid)
        if job is not None:
            job.cancel.set()

"""Restore, run by the init-data container of ordinal 0 of a new cluster.

The member reads the backup store through the `BackupStore` interface (a
directory mounted read-only locally; an S3 store would be opened from its
URL the same way), picks the base backup, extracts and prepares it, then
finishes it on a private server (no network, no grant checks, its binlog on):

* the binlog state becomes the backup's GTID position, so the restored
  primary continues the source's GTID sequence and its replicas clone from
  it as usual;
* for point-in-time recovery, archived binlog segments are replayed with
  `mariadb-binlog --start-position=<current position>` (each transaction once,
  even where archives of several primaries overlap) up to the target;
* petset's users get the new cluster's passwords (its Secret is the truth).

Nothing here touches an existing datadir: the caller restores only into an
empty one of a cluster that was never initialized.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from petset.engines.mysql.backup.store import BackupStore, open_store, read_chunks
from petset.engines.mysql.gtid import GtidPosition

ENV_VARS = (
    "RESTORE_STORE",
    "RESTORE_NAMESPACE",
    "RESTORE_BACKUP",
    "RESTORE_CLUSTER",
    "RESTORE_TIMESTAMP",
    "RESTORE_GTID",
)


class RestoreError(Exception):
    pass


@dataclass(frozen=True)
class RestoreRequest:
    store: str  # the store's location as the member sees it
    namespace: str
    backup: str | None = None  # base backup name
    cluster: str | None = None  # source cluster (base selection and its binlog archive)
    timestamp: str | None = None  # RFC 3339 UTC, exclusive
    gtid: str | None = None  # inclusive

    @property
    def point_in_time(self) -> bool:
        return bool(self.timestamp or self.gtid)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RestoreRequest | None:
        if not environ.get("RESTORE_STORE"):
            return None
        return cls(
            store=environ["RESTORE_STORE"],
            namespace=environ.get("RESTORE_NAMESPACE") or "default",
            backup=environ.get("RESTORE_BACKUP") or None,
            cluster=environ.get("RESTORE_CLUSTER") or None,
            timestamp=environ.get("RESTORE_TIMESTAMP") or None,
            gtid=environ.get("RESTORE_GTID") or None,
        )

    def environ(self) -> dict[str, str]:
        values = (self.store, self.namespace, self.backup, self.cluster, self.timestamp, self.gtid)
        return {k: v for k, v in zip(ENV_VARS, values, strict=True) if v}


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _before_target(meta: dict[str, Any], req: RestoreRequest) -> bool:
    if req.gtid:
        return GtidPosition.parse(req.gtid).contains(GtidPosition.parse(meta.get("gtid")))
    if req.timestamp:
        # completionTime is after the backup's consistent point: a safe bound
        return _epoch(str(meta["completionTime"])) <= _epoch(req.timestamp)
    return True


def choose_base(store: BackupStore, req: RestoreRequest) -> tuple[str, dict[str, Any]]:
    """The named backup (checked to lie before the target), or the newest
    completed backup of req.cluster before the target."""
    if req.backup:
        key = f"{req.namespace}/{req.backup}"
        try:
            meta = store.get_metadata(key)
        except FileNotFoundError:
            raise RestoreError(f"backup {key} is not in the store {req.store}") from None
        if meta.get("phase") != "Completed":
            raise RestoreError(f"backup {key} did not complete")
        if not _before_target(meta, req):
            raise RestoreError(f"backup {key} is not before the restore point; choose an older one")
        return key, meta
    candidates = []
    for key in store.keys(f"{req.namespace}/"):
        meta = store.get_metadata(key)
        ours = meta.get("cluster") == req.cluster and meta.get("phase") == "Completed"
        if ours and _before_target(meta, req):
            candidates.append((str(meta["completionTime"]), key, meta))
    if not candidates:
        raise RestoreError(f"no completed backup of {req.cluster} before the restore point")
    _, key, meta = max(candidates)
    return key, meta


def extract(store: BackupStore, key: str, meta: dict[str, Any], target: Path) -> int:
    """xbstream -> target, checking the checksum the backup recorded."""
    digest, size = hashlib.sha256(), 0
    with (
        store.open(key) as src,
        subprocess.Popen(["mbstream", "-x", "-C", str(target)], stdin=subprocess.PIPE) as mb,
    ):
        assert mb.stdin is not None
        for chunk in read_chunks(src):
            mb.stdin.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        mb.stdin.close()
        if mb.wait() != 0:
            raise RestoreError(f"mbstream failed with exit code {mb.returncode}")
    if meta.get("sha256") and digest.hexdigest() != meta["sha256"]:
        raise RestoreError(f"backup {key} is corrupt: sha256 {digest.hexdigest()} != recorded")
    subprocess.run(
        ["mariadb-backup", "--prepare", f"--target-dir={target}"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return size


class PrivateServer:
    """mariadbd on a prepared datadir with no network and no grant checks."""

    def __init__(self, datadir: Path, mycnf: Path) -> None:
        self.datadir = datadir
        # a socket path must fit in 107 bytes; /tmp is private to the pod
        self.rundir = Path(tempfile.mkdtemp(prefix="petset-restore-"))
        self.socket = str(self.rundir / "mysqld.sock")
        args = [
            "mariadbd",
            f"--defaults-file={mycnf}",
            f"--datadir={datadir}",
            f"--socket={self.socket}",
            f"--pid-file={self.rundir / 'mysqld.pid'}",
            "--skip-networking",
            "--skip-grant-tables",
            "--skip-slave-start",
            "--rpl-semi-sync-master-enabled=OFF",
            "--read-only=OFF",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        self.log = open(datadir / ".restore.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connect().close()
                return
            except pymysql.err.MySQLError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.log.close()
                    tail = (datadir / ".restore.log").read_text(errors="replace")[-1500:]
                    raise RestoreError(f"the restore server did not start: {tail}") from None
                time.sleep(0.1)

    def connect(self) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(unix_socket=self.socket, user="root", autocommit=True)

    def query(self, *statements: str) -> Any:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                row = None
                for s in statements:
                    cur.execute(s)
                    row = cur.fetchone()
                return row[0] if row else None
        finally:
            conn.close()

    def stop(self) -> None:
        try:
            self.query("SHUTDOWN")
        except pymysql.err.MySQLError:
            self.proc.terminate()
        self.proc.wait(60)
        self.log.close()
        shutil.rmtree(self.rundir, ignore_errors=True)
        for leftover in (".restore.log", ".restore.binlog"):
            (self.datadir / leftover).unlink(missing_ok=True)


def replay(server: PrivateServer, store: BackupStore, req: RestoreRequest) -> str:
    """Apply the archive's transactions after the server's position, up to
    the target; returns the position reached."""
    archive = f"{req.namespace}/{req.cluster}"
    stop = [f"--stop-position={req.gtid}"] if req.gtid else []
    if req.timestamp:
        stop = [f"--stop-datetime={_epoch_to_local(req.timestamp)}"]
    local = server.datadir / ".restore.binlog"
    for seg in store.segments(archive):
        pos = str(server.query("SELECT @@gtid_binlog_pos"))
        if req.gtid and GtidPosition.parse(pos).contains(GtidPosition.parse(req.gtid)):
            break
        with store.open_segment(archive, seg.session, seg.name) as src, open(local, "wb") as dst:
            for chunk in read_chunks(src):
                dst.write(chunk)
        start = [f"--start-position={pos}"] if pos else []
        decode = subprocess.Popen(
            ["mariadb-binlog", *start, *stop, str(local)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "TZ": "UTC"},
        )
        apply = subprocess.run(
            ["mariadb", f"--socket={server.socket}", "--user=root"],
            stdin=decode.stdout,
            capture_output=True,
        )
        err = decode.stderr.read() if decode.stderr else b""
        decode.wait()
        if apply.returncode != 0:
            raise RestoreError(
                f"replaying {seg.session}/{seg.name}: {apply.stderr.decode()[-800:]}"
            )
        if decode.returncode != 0:
            raise RestoreError(f"decoding {seg.session}/{seg.name}: {err.decode()[-800:]}")
    reached = str(server.query("SELECT @@gtid_binlog_pos"))
    if req.gtid and not GtidPosition.parse(reached).contains(GtidPosition.parse(req.gtid)):
        raise RestoreError(
            f"the binlog archive of {req.cluster} ends at {reached}, before {req.gtid}"
        )
    return reached


def _epoch_to_local(ts: str) -> str:
    """mariadb-binlog reads --stop-datetime in its local zone; it runs with TZ=UTC."""
    return datetime.fromtimestamp(_epoch(ts), UTC).strftime("%Y-%m-%d %H:%M:%S")


def restore_into(target: Path, req: RestoreRequest, *, mycnf: Path, users_sql: list[str]) -> str:
    """Fill the empty directory `target` from the store; returns the GTID
    position the restored data holds."""
    store = open_store(req.store)
    key, meta = choose_base(store, req)
    if not req.cluster:  # the archive to replay is the base backup's cluster's
        req = replace(req, cluster=str(meta.get("cluster") or ""))
    extract(store, key, meta, target)
    base = str(meta.get("gtid") or "")
    server = PrivateServer(target, mycnf)
    try:
        server.query("RESET MASTER")
        if base:
            server.query(
                f"SET GLOBAL gtid_binlog_state = '{base}'", f"SET GLOBAL gtid_slave_pos = '{base}'"
            )
        reached = replay(server, store, req) if req.point_in_time else base
        # grant tables are loaded from here on; the session keeps its rights
        server.query("SET sql_log_bin = 0", "FLUSH PRIVILEGES", *users_sql)
    finally:
        server.stop()
    return reached


def users_statements(
    admin_password: str, repl_password: str, app_password: str, app_privileges: str
) -> list[str]:
    """petset's users with the new cluster's passwords (they exist in the backup
    with the source's)."""
    q = pymysql.converters.escape_string
    out = []
    for user, pw, grant in (
        (
            "petset_admin",
            admin_password,
            "ALL PRIVILEGES ON *.* TO 'petset_admin'@'%' WITH GRANT OPTION",
        ),
        (
            "petset_repl",
            repl_password,
            "REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR, "
            "SLAVE MONITOR ON *.* TO 'petset_repl'@'%'",
        ),
        ("app", app_password, f"{app_privileges} ON *.* TO 'app'@'%'"),
    ):
        if not pw:
            continue
        out += [
            f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{q(pw)}'",
            f"ALTER USER '{user}'@'%' IDENTIFIED BY '{q(pw)}'",
            f"GRANT {grant}",
        ]
    return out


STORE_MOUNT = "/var/lib/petset-backups"


def store_host_path(bootstrap: dict[str, Any], default: str | None) -> str | None:
    """The directory holding the store a bootstrap reads: fromBackup.store's
    (a file:// URL, checked at apply time) or petset's own."""
    url = (bootstrap.get("fromBackup") or {}).get("store")
    if url:
        return unquote(urlsplit(url).path)
    return default


def restore_pod_additions(
    namespace: str,
    bootstrap: dict[str, Any] | None,
    default_store: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(env, volumes, volumeMounts) the member pods need to restore from
    `spec.bootstrap` (camelCase dict as in the spec): the store mounted
    read-only and RESTORE_* variables. Only init-data of ordinal 0 of a cluster
    that was never initialized acts on them; they stay in the template after
    (so initializing the cluster does not change the pod template).
    The store is a hostPath: fromBackup.store's directory, else petset's own
    store (`default_store`); on Kubernetes that is a directory on the node
    (an S3 URL in RESTORE_STORE is not built yet)."""
    host_path = store_host_path(bootstrap, default_store) if bootstrap else None
    if not bootstrap or host_path is None:
        return [], [], []
    pit = bootstrap.get("pointInTime") or {}
    req = RestoreRequest(
        store=STORE_MOUNT,
        namespace=namespace,
        backup=(bootstrap.get("fromBackup") or {}).get("name"),
        cluster=pit.get("cluster"),
        timestamp=pit.get("timestamp"),
        gtid=pit.get("gtid"),
    )
    env = [{"name": k, "value": v} for k, v in req.environ().items()]
    volume = {"name": "backup-store", "hostPath": {"path": host_path, "type": "Directory"}}
    mount = {"name": "backup-store", "mountPath": STORE_MOUNT, "readOnly": True}
    return env, [volume], [mount]

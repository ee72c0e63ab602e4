"""Continuous binlog archiving from a cluster's current primary into the store.

One `BinlogArchiver` per cluster runs `mariadb-binlog --read-from-remote-server
--raw --stop-never` against the primary (the server pushes every event as it
is written) into a staging directory, and a thread of its own puts every file
that grew into the store about once a second (the open binlog is put again as
it grows, so the archive trails the primary by about a second).

Archives are split into sessions, one per primary per stretch of archiving,
named `<UTC start>-<member>` so they sort in archive order; after a failover a
new session starts from the new primary's first binlog. Sessions overlap
(every member's binlog holds the transactions it replicated), which replay
resolves by starting each file at the position already reached.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

from petset.engines.mysql import sql
from petset.engines.mysql.backup.store import BackupStore, read_chunks

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """The archiver's mariadb-binlog must not outlive a killed daemon."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def binary_logs(host: str, creds: sql.Credentials) -> list[str]:
    with sql.connect(host, creds) as conn, conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [str(r["Log_name"]) for r in cur.fetchall()]


def session_to_resume(
    store: BackupStore, archive: str, member: str, on_server: list[str]
) -> tuple[str, str] | None:
    """(session, file) when the newest session is this member's and its last
    file is still on the server: archiving resumes there (a daemon restart)."""
    segs = store.segments(archive)
    if not segs:
        return None
    last = segs[-1]
    if last.session.endswith(f"-{member}") and last.name in on_server:
        return last.session, last.name
    return None


class BinlogArchiver:
    def __init__(
        self,
        store: BackupStore,
        archive: str,
        staging: Path,
        *,
        member: str,
        host: str,
        creds: sql.Credentials,
        interval: float = 1.0,
    ) -> None:
        self.store, self.archive, self.member, self.host = store, archive, member, host
        self.creds, self.interval = creds, interval
        self.staging = staging
        self.error: str | None = None
        self.session = ""
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._synced: dict[str, int] = {}
        self._sync_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"binlogs-{archive}", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._thread.join(timeout)

    def _begin(self) -> str:
        files = binary_logs(self.host, self.creds)
        if not files:
            raise RuntimeError(f"{self.member} has no binary logs")
        resume = session_to_resume(self.store, self.archive, self.member, files)
        if resume is not None:
            self.session, first = resume
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            self.session, first = f"{stamp}-{self.member}", files[0]
        self.staging.mkdir(parents=True, exist_ok=True)
        for old in self.staging.iterdir():
            old.unlink()
        return first

    def _run(self) -> None:
        try:
            first = self._begin()
            self._proc = subprocess.Popen(
                [
                    "mariadb-binlog",
                    "--read-from-remote-server",
                    "--raw",
                    "--stop-never",
                    f"--host={self.host}",
                    "--port=3306",
                    f"--user={self.creds.user}",
                    f"--result-file={self.staging}/",
                    first,
                ],
                env={**os.environ, "MYSQL_PWD": self.creds.password},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent,
            )
            while not self._stop.wait(self.interval):
                self.sync()
                if self._proc.poll() is not None:
                    err = self._proc.stderr.read() if self._proc.stderr else b""
                    self.error = (
                        f"mariadb-binlog exited {self._proc.returncode}: {err.decode()[-300:]}"
                    )
                    break
            self.sync()
        except Exception as exc:  # reported by the controller, which starts a new archiver
            self.error = str(exc) or type(exc).__name__
        finally:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                self._proc.wait(10)

    def sync(self) -> int:
        """Put every staged file that grew; returns how many were put."""
        with self._sync_lock:
            return self._sync()

    def _sync(self) -> int:
        put = 0
        for f in sorted(self.staging.iterdir()):
            size = f.stat().st_size
            if self._synced.get(f.name) == size:
                continue
            with open(f, "rb") as src:
                self.store.put_segment(self.archive, self.session, f.name, read_chunks(src))
            self._synced[f.name] = size
            put += 1
        return put


class Archivers:
    """The running archivers, one per cluster (keyed `<namespace>/<cluster>`)."""

    def __init__(self, store: BackupStore, staging_root: Path) -> None:
        self.store, self.staging_root = store, staging_root
        self._running: dict[str, BinlogArchiver] = {}
        self._lock = threading.Lock()

    def get(self, archive: str) -> BinlogArchiver | None:
        with self._lock:
            return self._running.get(archive)

    def stop(self, archive: str) -> BinlogArchiver | None:
        with self._lock:
            old = self._running.pop(archive, None)
        if old is not None:
            old.stop()
        return old

    def start(self, archive: str, *, member: str, host: str, creds: sql.Credentials) -> None:
        staging = self.staging_root / archive.replace("/", "_")
        arch = BinlogArchiver(self.store, archive, staging, member=member, host=host, creds=creds)
        with self._lock:
            self._running[archive] = arch
        arch.start()

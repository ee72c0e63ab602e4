"""Read-only connections to the store database, used outside the writer's lock.

WAL lets readers run while the single writer commits: a read sees the last
committed state and never waits for a commit's fsync (synchronous=FULL makes
that wait the longest thing a write does). Each statement is its own read
transaction, so a read that starts after a commit returned sees that commit.

A small pool, not one connection per thread: the daemon has a hundred-odd
threads (one per pod worker) and every connection has its own page cache.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from petset.api.errors import InvalidError, NotFoundError
from petset.api.kinds import is_namespaced
from petset.api.meta import Obj, ObjectKey, labels_of
from petset.api.selectors import Selector, matches_fields

# Pages cached per reader (negative: KiB). The whole database of a busy daemon
# is a few MB; four readers at 1 MiB bound the cost in resident memory.
_READER_CACHE_KIB = 1024


def open_reader(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(f"PRAGMA cache_size=-{_READER_CACHE_KIB}")
    return conn


class ReaderPool:
    """Up to `size` read-only connections, opened on first need, handed out one
    per read; a read that finds all busy waits for the next one freed."""

    def __init__(self, path: Path | str, size: int = 4) -> None:
        self._path = path
        self._size = size
        self._idle: list[sqlite3.Connection] = []
        self._opened = 0
        self._cond = threading.Condition()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    def _acquire(self) -> sqlite3.Connection:
        with self._cond:
            while True:
                if self._closed:
                    raise InvalidError("the store is closed")
                if self._idle:
                    return self._idle.pop()
                if self._opened < self._size:
                    self._opened += 1
                    break
                self._cond.wait()
        try:
            return open_reader(self._path)
        except BaseException:
            with self._cond:
                self._opened -= 1
                self._cond.notify()
            raise

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(conn)
                self._cond.notify()
                return
        conn.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for conn in idle:
            conn.close()


# -- queries (on any connection, the writer's included) ------------------------
def load_object(conn: sqlite3.Connection, key: ObjectKey) -> Obj | None:
    row = conn.execute(
        "SELECT data FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
        (key.kind, key.namespace, key.name),
    ).fetchall()
    return dict(json.loads(row[0][0])) if row else None


def found(key: ObjectKey, obj: Obj | None) -> Obj:
    if obj is None:
        where = f" in namespace {key.namespace!r}" if key.namespace else ""
        raise NotFoundError(f"{key.kind} {key.name!r} not found{where}")
    return obj


def object_rows(
    conn: sqlite3.Connection, kind: str, namespace: str | None
) -> list[tuple[int, str]]:
    """(resourceVersion, JSON text) of `kind`'s objects, by namespace and name."""
    sql = "SELECT rv, data FROM objects WHERE kind = ?"
    args: list[str] = [kind]
    if namespace is not None and is_namespaced(kind):
        sql += " AND namespace = ?"
        args.append(namespace)
    return [(int(rv), d) for rv, d in conn.execute(sql + " ORDER BY namespace, name", args)]


def selected(obj: Obj, sel: Selector, fields: list[tuple[str, bool, str]]) -> bool:
    return sel.matches(labels_of(obj)) and matches_fields(obj, fields)

"""The SQLite schema and connection settings behind the store.

WAL with synchronous=FULL makes a commit durable when it returns (the WAL is
fsynced on every commit) while readers never block the single writer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    rv INTEGER NOT NULL,
    updated REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    rv INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    ts REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_kind ON changes (kind, rv);
CREATE INDEX IF NOT EXISTS objects_by_updated ON objects (kind, updated);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


def connect(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the store database; ':memory:' for tests."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves so one
    # multi-object write is exactly one transaction.
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(SCHEMA)
    return conn


def read_meta(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def read_meta_prefix(conn: sqlite3.Connection, prefix: str) -> list[tuple[str, int]]:
    rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE ? || '%'", (prefix,))
    return [(str(k), int(v)) for k, v in rows.fetchall()]


def write_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def last_resource_version(conn: sqlite3.Connection) -> int:
    """The highest resourceVersion ever handed out (survives compaction and deletes)."""
    top = 0
    for sql in ("SELECT MAX(rv) FROM changes", "SELECT MAX(rv) FROM objects"):
        row = conn.execute(sql).fetchone()
        top = max(top, int(row[0] or 0))
    return max(top, read_meta(conn, "compacted"))


def compaction_cutoff(conn: sqlite3.Connection, by_count: int, oldest: float) -> int:
    """The newest change to drop: beyond the count kept, or written before `oldest`."""
    row = conn.execute("SELECT MAX(rv) FROM changes WHERE ts < ?", (oldest,)).fetchone()
    return max(by_count, int(row[0] or 0))


def drop_changes(conn: sqlite3.Connection, cutoff: int) -> dict[str, int]:
    """Delete changes up to `cutoff`; per kind, the newest change dropped (kept in meta
    so a watch from before it is Gone even after a restart)."""
    dropped = {
        str(kind): int(rv)
        for kind, rv in conn.execute(
            "SELECT kind, MAX(rv) FROM changes WHERE rv <= ? GROUP BY kind", (cutoff,)
        ).fetchall()
    }
    if dropped:
        for kind, rv in dropped.items():
            write_meta(conn, f"compacted:{kind}", rv)
        conn.execute("DELETE FROM changes WHERE rv <= ?", (cutoff,))
        # Remembered so the counter never goes back even when every change is gone.
        write_meta(conn, "compacted", cutoff)
    return dropped

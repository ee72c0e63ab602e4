"""One persistent SQL connection per member for the controller's observations.

A healthy cluster is looked at every second (the primary's pulse) and fully
every few seconds: opening a connection each time (TCP, greeting,
authentication) was most of an idle daemon's CPU. A connection that broke
because the member restarted (pets keep their address) is replaced once,
at once; one that timed out is not retried: the member is silent, and a
second wait would only delay the verdict.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

import pymysql

from petset.engines.mysql import sql

# The pulse: is the member still what petset made it? One row, three columns.
PULSE_SQL = (
    "SELECT @@global.read_only AS ro, "
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
    " WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS') AS semi, "
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
    " WHERE VARIABLE_NAME = 'SLAVE_RUNNING') AS repl"
)


@dataclass(frozen=True)
class Pulse:
    read_only: bool
    semi_sync_on: bool  # Rpl_semi_sync_master_status
    replicating: bool  # both replication threads run

    @classmethod
    def of(cls, status: sql.MemberStatus) -> Pulse:
        rep = status.replica
        return cls(status.read_only, status.semi_sync_primary_on, bool(rep and rep.healthy))


class Link:
    """A member's connection, opened on first use; one user at a time."""

    def __init__(self, host: str, creds: sql.Credentials, *, port: int = 3306) -> None:
        self.host, self.port, self._creds = host, port, creds
        self._conn: pymysql.connections.Connection[Any] | None = None
        self._lock = threading.Lock()

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Rows of one statement; MemberUnreachable when the member does not answer."""
        with self._lock:
            fresh = self._conn is None
            try:
                return sql.rows(self._connection(), statement)
            except (pymysql.err.MySQLError, OSError) as exc:
                self._drop()
                if fresh or "timed out" in str(exc):
                    raise sql.MemberUnreachable(f"{self.host}:{self.port}: {exc}") from exc
            try:  # the old connection was stale (member restarted): one fresh try
                return sql.rows(self._connection(), statement)
            except (pymysql.err.MySQLError, OSError) as exc:
                self._drop()
                raise sql.MemberUnreachable(f"{self.host}:{self.port}: {exc}") from exc

    def observe(self) -> sql.MemberStatus:
        return sql.observe_with(self.query)

    def pulse(self) -> Pulse:
        row = self.query(PULSE_SQL)[0]
        return Pulse(
            read_only=bool(int(row["ro"])),
            semi_sync_on=str(row["semi"] or "") == "ON",
            replicating=str(row["repl"] or "") == "ON",
        )

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _connection(self) -> pymysql.connections.Connection[Any]:
        if self._conn is None:
            self._conn = sql.open_connection(
                self.host, self._creds, port=self.port, read_timeout=sql.OBSERVE_TIMEOUT
            )
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class Links:
    """A cluster's links by member address; credentials changes open new ones."""

    def __init__(self) -> None:
        self._links: dict[tuple[str, sql.Credentials], Link] = {}
        self._lock = threading.Lock()

    def get(self, host: str, creds: sql.Credentials) -> Link:
        stale: list[Link] = []
        with self._lock:
            link = self._links.get((host, creds))
            if link is None:
                stale = [self._links.pop(k) for k in list(self._links) if k[0] == host]
                link = self._links[(host, creds)] = Link(host, creds)
        for old in stale:  # the password changed: the old session is of no use
            old.close()
        return link

    def retain(self, hosts: set[str]) -> None:
        """Close the links to addresses that are no longer members'."""
        with self._lock:
            gone = [k for k in self._links if k[0] not in hosts]
            links = [self._links.pop(k) for k in gone]
        for link in links:
            link.close()

    def close(self) -> None:
        self.retain(set())

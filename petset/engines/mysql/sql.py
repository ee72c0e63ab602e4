"""One member's SQL: what the controller observes and the few statements it issues.

Every function here opens a short connection; the controller's frequent
observations go through `links.py` (one persistent connection per member).
Timeouts are short: the controller's loop must keep its heartbeat while a
member hangs (SIGSTOP), and a hung member is told from a slow one by how long
it stays silent (topology.HUNG_AFTER_SECONDS), not by one long wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pymysql
import pymysql.cursors

from petset.engines.mysql.gtid import GtidPosition

CONNECT_TIMEOUT = 1.0
# Statements that change a member (promote, CHANGE MASTER) may take a while under load.
READ_TIMEOUT = 5.0
# An observation is three tiny queries: a member silent this long is not answering.
OBSERVE_TIMEOUT = 1.0

Query = Callable[[str], list[dict[str, Any]]]


class MemberUnreachable(Exception):
    """The member did not answer (refused, timed out or authentication failed).

    `refused` is True when nothing listens on the port: the server process is
    not running (a hung one still accepts TCP connections and times out).
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


@dataclass(frozen=True)
class ReplicaStatus:
    source_host: str
    io_running: str  # Yes | No | Connecting
    sql_running: bool
    last_io_error: str
    last_sql_error: str
    seconds_behind: int | None
    received: GtidPosition  # Gtid_IO_Pos: what the IO thread fetched into the relay log

    @property
    def healthy(self) -> bool:
        return self.io_running == "Yes" and self.sql_running


@dataclass(frozen=True)
class MemberStatus:
    server_id: int
    version: str
    read_only: bool
    binlog: GtidPosition  # gtid_binlog_pos: what this member wrote to its binlog
    current: GtidPosition  # gtid_current_pos
    applied: GtidPosition  # gtid_slave_pos: what replication applied
    replica: ReplicaStatus | None
    semi_sync_primary_on: bool  # Rpl_semi_sync_master_status
    semi_sync_clients: int

    @property
    def position(self) -> GtidPosition:
        """Everything this member holds: its binlog (log_slave_updates) plus applied."""
        return GtidPosition.parse(f"{self.binlog},{self.applied}")


def open_connection(
    host: str,
    creds: Credentials,
    *,
    port: int = 3306,
    timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> pymysql.connections.Connection[Any]:
    """A new connection; MemberUnreachable when the member does not answer."""
    try:
        return pymysql.connect(
            host=host,
            port=port,
            user=creds.user,
            password=creds.password,
            connect_timeout=timeout,
            # also bounds the server's greeting: a stopped server accepts TCP (the
            # kernel does) and then says nothing
            read_timeout=read_timeout,
            write_timeout=read_timeout,
            autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
            # PyMySQL >= 1.2 tries TLS by default and builds an SSL context (loading
            # every system CA) per connection: most of an idle daemon's CPU. The
            # controller talks to members over loopback (locally) or the pod network.
            ssl_disabled=True,
        )
    except pymysql.err.MySQLError as exc:
        refused = "Connection refused" in str(exc)
        raise MemberUnreachable(f"{host}:{port}: {exc}", refused=refused) from exc


@contextmanager
def connect(
    host: str,
    creds: Credentials,
    *,
    port: int = 3306,
    timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> Iterator[pymysql.connections.Connection[Any]]:
    conn = open_connection(host, creds, port=port, timeout=timeout, read_timeout=read_timeout)
    try:
        yield conn
    except pymysql.err.OperationalError as exc:
        raise MemberUnreachable(f"{host}:{port}: {exc}") from exc
    finally:
        conn.close()


def rows(conn: pymysql.connections.Connection[Any], sql: str) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def observe(
    host: str, creds: Credentials, *, port: int = 3306, timeout: float = CONNECT_TIMEOUT
) -> MemberStatus:
    with connect(host, creds, port=port, timeout=timeout, read_timeout=OBSERVE_TIMEOUT) as conn:
        return observe_with(lambda sql: rows(conn, sql))


def observe_with(query: Query) -> MemberStatus:
    """A member's status from `query` (runs one statement, returns its rows)."""
    v = query(
        "SELECT @@server_id AS sid, @@version AS v, @@read_only AS ro, "
        "@@gtid_binlog_pos AS b, @@gtid_current_pos AS c, @@gtid_slave_pos AS s"
    )[0]
    st = {
        r["Variable_name"]: r["Value"]
        for r in query("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%'")
    }
    slave = query("SHOW SLAVE STATUS")
    replica = None
    if slave:
        s = slave[0]
        sbm = s.get("Seconds_Behind_Master")
        replica = ReplicaStatus(
            source_host=str(s.get("Master_Host") or ""),
            io_running=str(s.get("Slave_IO_Running") or "No"),
            sql_running=s.get("Slave_SQL_Running") == "Yes",
            last_io_error=str(s.get("Last_IO_Error") or ""),
            last_sql_error=str(s.get("Last_SQL_Error") or ""),
            seconds_behind=None if sbm is None else int(sbm),
            received=GtidPosition.parse(str(s.get("Gtid_IO_Pos") or "")),
        )
    return MemberStatus(
        server_id=int(v["sid"]),
        version=str(v["v"]),
        read_only=bool(int(v["ro"])),
        binlog=GtidPosition.parse(v["b"]),
        current=GtidPosition.parse(v["c"]),
        applied=GtidPosition.parse(v["s"]),
        replica=replica,
        semi_sync_primary_on=st.get("Rpl_semi_sync_master_status") == "ON",
        semi_sync_clients=int(st.get("Rpl_semi_sync_master_clients") or 0),
    )


def execute(host: str, creds: Credentials, statements: list[str], *, port: int = 3306) -> None:
    with connect(host, creds, port=port) as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def set_read_only(host: str, creds: Credentials, on: bool, *, port: int = 3306) -> None:
    execute(host, creds, [f"SET GLOBAL read_only = {'ON' if on else 'OFF'}"], port=port)


def promote(host: str, creds: Credentials, *, port: int = 3306) -> None:
    """Stop replicating and accept writes. Call only after the member applied all it received."""
    execute(
        host,
        creds,
        ["STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF"],
        port=port,
    )


def replicate_from(
    host: str,
    creds: Credentials,
    *,
    source_host: str,
    source_port: int,
    repl: Credentials,
    port: int = 3306,
    adopt_own_binlog: bool = False,
) -> None:
    """Point a member at a new source with GTID auto-positioning and start replicating.

    `adopt_own_binlog` is for a former primary: its own transactions are in its
    binlog but not in gtid_slave_pos, so without it the member would ask the new
    source for them again.
    """
    quote = pymysql.converters.escape_string
    stmts = ["SET GLOBAL read_only = ON", "STOP SLAVE"]
    if adopt_own_binlog:
        stmts.append("SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos")
    stmts += [
        f"CHANGE MASTER TO MASTER_HOST='{quote(source_host)}', MASTER_PORT={int(source_port)}, "
        f"MASTER_USER='{quote(repl.user)}', MASTER_PASSWORD='{quote(repl.password)}', "
        "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
        "START SLAVE",
    ]
    execute(host, creds, stmts, port=port)


def wait_applied(host: str, creds: Credentials, timeout: float, *, port: int = 3306) -> bool:
    """Let the SQL thread apply everything already in the relay log.

    The IO thread is left alone (NOTES: stopping both threads and restarting
    only the SQL thread discards the relay log). True when applied caught up
    with received within `timeout`.
    """
    status = observe(host, creds, port=port)
    if status.replica is None or status.applied.contains(status.replica.received):
        return True
    return gtid_wait(host, creds, str(status.replica.received), timeout, port=port)


def gtid_wait(
    host: str, creds: Credentials, position: str, timeout: float, *, port: int = 3306
) -> bool:
    """MASTER_GTID_WAIT on the member: True when it reached `position` within `timeout`."""
    with (
        connect(host, creds, port=port, read_timeout=timeout + READ_TIMEOUT) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s) AS r", (position, timeout))
        row = cur.fetchone()
    return bool(row) and int(row["r"]) == 0

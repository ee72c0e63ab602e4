"""Real members (plain processes, no daemon) for backup and restore tests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pymysql

from petset.engines.mysql import member, memberenv, sql
from petset.engines.mysql.backup.restore import RestoreRequest
from tests.acceptance.mysql.members import Member, make_member, random_subnet

ADMIN = sql.Credentials("petset_admin", "admin-secret")


def connect(m: Member, creds: sql.Credentials = ADMIN) -> pymysql.connections.Connection[Any]:
    return pymysql.connect(host=m.ip, user=creds.user, password=creds.password, autocommit=True)


def query(m: Member, statement: str, creds: sql.Credentials = ADMIN) -> Any:
    conn = connect(m, creds)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall()
    finally:
        conn.close()


def bring_up(ms: list[Member]) -> None:
    """ms[0] primary, the others clone from it and replicate (as pods would)."""
    primary = ms[0]
    member.cmd_config(primary.env)
    member.bootstrap(primary.env)
    primary.start_mariadbd()
    sql.promote(primary.ip, primary.env.admin)
    primary.start_agent()
    query(primary, "CREATE DATABASE app")
    query(primary, "CREATE TABLE app.t (i INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
    for m in ms[1:]:
        member.cmd_config(m.env)
        member.clone(m.env, primary.ip)
        m.start_mariadbd()
        sql.replicate_from(
            m.ip, m.env.admin, source_host=primary.ip, source_port=3306, repl=m.env.repl
        )
        m.start_agent()


def cluster_status(ms: list[Member]) -> dict[str, Any]:
    """What the MySQLCluster controller would report for these members."""
    out = []
    for m in ms:
        st = sql.observe(m.ip, m.env.admin)
        replica = st.replica is not None
        out.append(
            {
                "name": m.env.pod_name,
                "ip": m.ip,
                "role": "replica" if replica else "primary",
                "healthy": (not replica) or bool(st.replica and st.replica.healthy),
            }
        )
    return {"initialized": True, "primary": ms[0].env.pod_name, "members": out}


class Writer:
    """Inserts rows on the primary until stopped; counts acknowledged ones."""

    def __init__(self, m: Member) -> None:
        self.m, self.acked = m, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = connect(self.m)
        with conn.cursor() as cur:
            while not self._stop.is_set():
                cur.execute("INSERT INTO app.t (v) VALUES (REPEAT('x', 40))")
                self.acked += 1
        conn.close()

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def restored_member(root: Path, name: str, request: RestoreRequest) -> Member:
    """A fresh ordinal 0 of a new cluster, restored the way init-data does it."""
    m = make_member(root / name, 0, random_subnet())
    env = memberenv.Env(
        **{
            **m.env.__dict__,
            "admin": sql.Credentials("petset_admin", "new-admin"),
            "app_password": "new-app",
        }
    )
    m = Member(env, m.home)
    member.cmd_config(m.env)
    member.restore(m.env, request)
    m.start_mariadbd()
    return m


def checksum(m: Member, creds: sql.Credentials = ADMIN, *, table: str = "app.t") -> int:
    return int(query(m, f"CHECKSUM TABLE {table}", creds)[0][1])


def binlog_pos(m: Member, creds: sql.Credentials = ADMIN) -> str:
    return str(query(m, "SELECT @@gtid_binlog_pos", creds)[0][0])

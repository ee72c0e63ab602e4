"""The member commands and SQL operations against real mariadbd processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from petset.engines.mysql import agent, member, sql
from petset.engines.mysql.gtid import GtidPosition
from tests.acceptance.mysql.members import Member, members, wait_for

pytestmark = pytest.mark.acceptance


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[list[Member]]:
    yield from members(tmp_path, 3)


def _write(m: Member, value: int) -> None:
    conn = pymysql.connect(host=m.ip, user="petset_admin", password="admin-secret", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS app")
        cur.execute("CREATE TABLE IF NOT EXISTS app.t (i INT PRIMARY KEY)")
        cur.execute("INSERT INTO app.t VALUES (%s)", (value,))
    conn.close()


def _count(m: Member) -> int:
    conn = pymysql.connect(host=m.ip, user="petset_admin", password="admin-secret")
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM app.t")
        row = cur.fetchone()
    conn.close()
    assert row is not None
    return int(row[0])


def _bring_up(trio: list[Member]) -> None:
    primary = trio[0]
    member.cmd_config(primary.env)
    member.bootstrap(primary.env)
    primary.start_mariadbd()
    sql.promote(primary.ip, primary.env.admin)
    primary.start_agent()
    _write(primary, 1)
    for m in trio[1:]:
        member.cmd_config(m.env)
        donor = member.choose_donor(
            {p.ip: s for p in trio if p is not m and (s := member.peer_status(p.ip, 8306))}
        )
        assert donor is not None
        member.clone(m.env, donor)
        m.start_mariadbd()
        sql.replicate_from(
            m.ip, m.env.admin, source_host=primary.ip, source_port=3306, repl=m.env.repl
        )
        m.start_agent()


def test_bootstrap_clone_and_semi_sync_replication(trio: list[Member]) -> None:
    _bring_up(trio)
    primary, r1, r2 = trio
    assert member.peer_status(r1.ip, 8306) == {**agent.member_status(r1.env)}
    # r2 cloned from r1 (a replica is preferred as donor) and replicates from the primary
    for v in range(2, 50):
        _write(primary, v)
    st = sql.observe(primary.ip, primary.env.admin)
    assert st.semi_sync_primary_on and st.semi_sync_clients == 2
    # The application's user is fenced by read_only on replicas (root-like users are not).
    app = pymysql.connect(host=r1.ip, user="app", password="app-secret", autocommit=True)
    with app.cursor() as cur, pytest.raises(pymysql.err.OperationalError, match="read-only"):
        cur.execute("INSERT INTO app.t VALUES (999)")
    app.close()
    for r in (r1, r2):
        wait_for(lambda r=r: _count(r) == 49, 10, "replica catch-up")
        rs = sql.observe(r.ip, r.env.admin)
        assert rs.read_only and rs.replica is not None and rs.replica.healthy
        assert rs.position.contains(st.binlog)


def test_failover_steps_keep_every_acknowledged_write(trio: list[Member]) -> None:
    _bring_up(trio)
    primary, r1, r2 = trio
    acked = []
    for v in range(2, 200):
        _write(primary, v)
        acked.append(v)
    primary.kill("mariadbd")
    for r in (r1, r2):
        assert sql.wait_applied(r.ip, r.env.admin, 10)
    positions = {r.ip: sql.observe(r.ip, r.env.admin).position for r in (r1, r2)}
    best_ip, _unique = __import__(
        "petset.engines.mysql.gtid", fromlist=["most_advanced"]
    ).most_advanced(positions)
    new = r1 if best_ip == r1.ip else r2
    other = r2 if new is r1 else r1
    sql.promote(new.ip, new.env.admin)
    sql.replicate_from(
        other.ip, other.env.admin, source_host=new.ip, source_port=3306, repl=other.env.repl
    )
    assert _count(new) == 1 + len(acked)
    _write(new, 1000)
    wait_for(lambda: _count(other) == 2 + len(acked), 10, "repointed replica")
    # The old primary comes back read-only (my.cnf) and rejoins as a replica.
    primary.start_mariadbd()
    st = sql.observe(primary.ip, primary.env.admin)
    assert st.read_only
    assert GtidPosition.parse(str(sql.observe(new.ip, new.env.admin).binlog)).contains(st.binlog)
    sql.replicate_from(
        primary.ip,
        primary.env.admin,
        source_host=new.ip,
        source_port=3306,
        repl=primary.env.repl,
        adopt_own_binlog=True,
    )
    wait_for(lambda: _count(primary) == 2 + len(acked), 10, "old primary rejoined")

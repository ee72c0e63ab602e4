"""The flagship through the real daemon: a MySQLCluster of sandboxed MariaDB
members, a writer through the rw Service, and the faults users fear."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
import pytest

from tests.acceptance.conftest import make_env
from tests.acceptance.mysql.helpers import Db, wait_until

pytestmark = pytest.mark.acceptance

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Writer:
    """Inserts ids in order through one address; records what was acknowledged."""

    db: Db
    host: str
    table: str
    acked: list[int] = field(default_factory=list)
    errors: int = 0
    gaps: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Writer:
        with self.db.connect(self.host) as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS t")
            cur.execute(f"CREATE TABLE t.{self.table} (i INT PRIMARY KEY)")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        conn = None
        i, last_ok = 0, time.monotonic()
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = self.db.connect(self.host)
                i += 1
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO t.{self.table} VALUES (%s)", (i,))
                now = time.monotonic()
                if now - last_ok > 0.3:
                    self.gaps.append(now - last_ok)
                last_ok = now
                self.acked.append(i)
            except pymysql.err.MySQLError:
                self.errors += 1
                conn = None
                time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(15)

    def missing(self) -> list[int]:
        with self.db.connect(self.db.service_ip(f"{self.db.name}-rw")) as c, c.cursor() as cur:
            cur.execute(f"SELECT i FROM t.{self.table}")
            have = {int(r[0]) for r in cur.fetchall()}
        return [i for i in self.acked if i not in have]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    with make_env(tmp_path_factory.mktemp("mysql")) as env:
        env.ok("apply", "-f", str(REPO / "examples/mysql/cluster.yaml"))
        d = Db(env)
        wait_until(d.healthy, 240, "3 healthy members")
        # The role Services follow the pods' readiness probes, which can pass up
        # to a probe period after the cluster reports itself Ready.
        for svc in ("mysql-rw", "mysql-ro"):
            wait_until(lambda svc=svc: _answers(d, svc), 30, f"{svc} to answer")
        yield d


def _answers(db: Db, svc: str) -> bool:
    try:
        db.connect(db.service_ip(svc)).close()
    except pymysql.err.MySQLError:
        return False
    return True


def test_bring_up_gives_a_primary_two_replicas_and_role_services(db: Db) -> None:
    st = db.status()
    assert st["primary"] == "mysql-0" and st["semiSync"]["primaryActive"] is True
    out = db.env.ok("mysql", "status", "mysql")
    assert "primary" in out and out.count("replica") == 2
    rw, ro = db.service_ip("mysql-rw"), db.service_ip("mysql-ro")
    with db.connect(rw) as c, c.cursor() as cur:
        cur.execute("SELECT @@hostname, @@read_only")
        assert cur.fetchone() == (st["primary"], 0)
    with db.connect(ro) as c, c.cursor() as cur:
        cur.execute("SELECT @@hostname, @@read_only")
        host, ro_flag = cur.fetchone()  # type: ignore[misc]
        assert host != st["primary"] and ro_flag == 1
        with pytest.raises(pymysql.err.OperationalError, match="read-only"):
            cur.execute("CREATE DATABASE nope")
    # DNS names of members resolve inside the pods (the init containers rely on it)
    assert "mysql-0.mysql" in db.env.ok("exec", "mysql-1", "-c", "agent", "--",
                                        "getent", "hosts", "mysql-0.mysql")  # fmt: skip


def test_kill_9_of_the_primary_loses_no_acknowledged_write(db: Db) -> None:
    old = db.status()["primary"]
    writer = Writer(db, db.service_ip("mysql-rw"), "kill9").start()
    wait_until(lambda: len(writer.acked) > 200, 30, "writes before the fault")
    db.kill_mariadbd(old)
    wait_until(lambda: db.status().get("primary") not in (None, old), 30, "a new primary")
    count = len(writer.acked)
    wait_until(lambda: len(writer.acked) > count + 100, 30, "writes after failover")
    writer.stop()
    assert writer.missing() == []
    st = wait_until(db.healthy, 180, "the old primary back as a replica")
    assert st["primary"] != old
    ep = db.env.json("get", "ep", "mysql-rw")
    ips = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
    new_ip = next(m["ip"] for m in st["members"] if m["name"] == st["primary"])
    assert ips == [new_ip]
    events = db.env.ok("events", "--for", "mysqlcluster/mysql")
    assert "FailedOver" in events


def test_switchover_moves_the_primary_with_writes_running(db: Db) -> None:
    st = db.status()
    target = next(m["name"] for m in st["members"] if m["role"] == "replica")
    writer = Writer(db, db.service_ip("mysql-rw"), "switch").start()
    wait_until(lambda: len(writer.acked) > 100, 30, "writes before the switchover")
    out = db.env.ok("mysql", "switchover", "mysql", "--to", target)
    assert f"to {target}" in out
    count = len(writer.acked)
    wait_until(lambda: len(writer.acked) > count + 100, 30, "writes after switchover")
    writer.stop()
    assert writer.missing() == []
    assert wait_until(db.healthy, 180, "healthy after switchover")["primary"] == target


def test_hung_primary_is_fenced_and_failed_over(db: Db) -> None:
    old = db.status()["primary"]
    writer = Writer(db, db.service_ip("mysql-rw"), "hung").start()
    wait_until(lambda: len(writer.acked) > 100, 30, "writes before the fault")
    db.kill_mariadbd(old, "STOP")
    wait_until(lambda: db.status().get("primary") not in (None, old), 40, "a new primary")
    count = len(writer.acked)
    wait_until(lambda: len(writer.acked) > count + 100, 30, "writes after failover")
    writer.stop()
    assert writer.missing() == []
    assert "Fenced" in db.env.ok("events", "--for", "mysqlcluster/mysql")
    wait_until(db.healthy, 240, "the fenced member back as a replica")


def test_scale_out_by_clone_and_back_in(db: Db) -> None:
    db.env.ok("scale", "mysqlcluster/mysql", "--replicas", "4")
    st = wait_until(lambda: db.healthy(4), 240, "4 healthy members")
    assert any(m["name"] == "mysql-3" and m["role"] == "replica" for m in st["members"])
    log = db.env.ok("logs", "mysql-3", "-c", "init-data")
    assert "cloned" in log and "mysql-" not in log.split("cloned")[0]
    db.env.ok("scale", "mysqlcluster/mysql", "--replicas", "3")
    wait_until(lambda: db.healthy(3), 240, "3 healthy members after scale in")
    bad = db.env.run("scale", "mysqlcluster/mysql", "--replicas", "0")
    assert bad.returncode == 1 and "spec.replicas" in bad.stderr


def test_broken_replica_is_recloned_automatically(db: Db) -> None:
    st = db.status()
    replica = next(m for m in st["members"] if m["role"] == "replica")
    admin = base64.b64decode(
        db.env.json("get", "secret", "mysql-credentials")["data"]["admin-password"]
    ).decode()
    with db.connect(db.service_ip("mysql-rw")) as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS t")
        cur.execute("CREATE TABLE t.broken (i INT PRIMARY KEY)")

    def replica_has_table() -> bool:
        conn = pymysql.connect(host=replica["ip"], user="petset_admin", password=admin)
        with conn, conn.cursor() as cur:
            cur.execute("SHOW TABLES FROM t LIKE 'broken'")
            return cur.fetchone() is not None

    wait_until(replica_has_table, 30, "the table on the replica")
    # A super user writes on the replica (read_only does not stop it): the next
    # replicated insert of the same key breaks replication there.
    conn = pymysql.connect(host=replica["ip"], user="petset_admin", password=admin, autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO t.broken VALUES (7)")
    with db.connect(db.service_ip("mysql-rw")) as c, c.cursor() as cur:
        cur.execute("INSERT INTO t.broken VALUES (7), (8)")
    wait_until(lambda: "Recloning" in db.env.ok("events", "--for", "mysqlcluster/mysql"), 30,
               "the re-clone to start")  # fmt: skip
    wait_until(db.healthy, 240, "the re-cloned replica healthy")
    log = db.env.ok("logs", replica["name"], "-c", "init-data")
    assert "cloned" in log and "removed .petset-aside-" in log
    conn = pymysql.connect(host=replica["ip"], user="petset_admin", password=admin)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT i FROM t.broken ORDER BY i")
        assert [r[0] for r in cur.fetchall()] == [7, 8]


def test_full_crash_comes_back_with_every_acknowledged_write(db: Db) -> None:
    writer = Writer(db, db.service_ip("mysql-rw"), "crash").start()
    wait_until(lambda: len(writer.acked) > 200, 30, "writes before the crash")
    db.env.ok("daemon", "stop", "--pods")  # every member down at once, and the daemon
    writer.stop()
    db.env.ok("daemon", "start")
    wait_until(db.healthy, 240, "the cluster back after a full crash")
    assert writer.missing() == []


def test_bad_specs_are_rejected_with_the_field_named(db: Db) -> None:
    bad = db.env.write(
        "bad-mysql.yaml",
        json.dumps({
            "apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
            "metadata": {"name": "bad"},
            "spec": {"replicas": 12, "config": {"server_id": 5}, "semiSnyc": True},
        }),
    )  # fmt: skip
    res = db.env.run("apply", "-f", str(bad))
    assert res.returncode == 1
    for field_path in ("spec.replicas", "spec.config", "server_id", "semiSnyc"):
        assert field_path in res.stderr
    assert db.env.run("get", "mysqlcluster", "bad").returncode == 1

"""Point-in-time recovery through the real daemon: binlogs archived from the
primary (following a switchover), a backup, write A, write B on the new
primary; new clusters restored to a timestamp (from petset's store) and to a
GTID (from a copy of the store, by URL) between the two writes hold A and
not B. Adding spec.bootstrap to the source cluster is
ignored, and its status says so."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from petset.engines.mysql.backup.store import LocalDirectoryStore
from tests.acceptance.conftest import make_env
from tests.acceptance.mysql_backup.daemon import (
    apply,
    mysqlcluster,
    primary_ip,
    ready,
    sql_on,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def test_pitr_to_a_moment_between_two_writes_restores_exactly_the_first(tmp_path: Path) -> None:
    with make_env(tmp_path) as env:
        apply(
            env,
            mysqlcluster("db", replicas=2, semiSyncTimeoutMs=2000, binlogArchive={"enabled": True}),
        )
        wait_until(lambda: ready(env, "db", 2), 120, "a ready cluster")
        old, ip = primary_ip(env, "db")
        sql_on(env, "db", ip, "CREATE DATABASE app", "CREATE TABLE app.t (v VARCHAR(20))")
        assert "Completed" in env.ok("mysql", "backup", "db", "--name", "base", "--wait")

        sql_on(env, "db", ip, "INSERT INTO app.t VALUES ('A')")
        gtid_a = sql_on(env, "db", ip, "SELECT @@gtid_binlog_pos")[0][0]
        target = int(time.time()) + 1  # strictly after A's second
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(target))
        time.sleep(max(0.0, target - time.time()) + 0.05)

        # B goes to another primary: archiving must follow the switchover
        env.ok("mysql", "switchover", "db", "--timeout", "90")
        new, ip = primary_ip(env, "db")
        assert new != old
        sql_on(env, "db", ip, "INSERT INTO app.t VALUES ('B')")
        size_b = int(sql_on(env, "db", ip, "SHOW BINARY LOGS")[-1][1])
        store = LocalDirectoryStore(env.home / "backups")

        def archived_b() -> bool:
            segs = store.segments("default/db")
            return bool(segs) and segs[-1].session.endswith(f"-{new}") and segs[-1].size >= size_b

        wait_until(archived_b, 60, f"the archive of {new} to hold B")

        by_time = {"pointInTime": {"cluster": "db", "timestamp": stamp}}
        # the GTID case reads a copy of the store elsewhere, by its URL
        hidden = shutil.ignore_patterns(".*")  # files the archiver is still putting
        shutil.copytree(env.home / "backups", tmp_path / "elsewhere", ignore=hidden)
        url = f"file://{tmp_path / 'elsewhere'}"
        by_gtid = {"fromBackup": {"name": "base", "store": url}, "pointInTime": {"gtid": gtid_a}}
        apply(env, mysqlcluster("at-time", replicas=1, bootstrap=by_time))
        apply(env, mysqlcluster("at-gtid", replicas=1, bootstrap=by_gtid))
        # a point before every backup cannot be restored, and petset says why
        too_early = {"pointInTime": {"cluster": "db", "timestamp": "2001-01-01T00:00:00Z"}}
        apply(env, mysqlcluster("too-early", replicas=1, bootstrap=too_early))
        # restoring never touches an existing cluster: the source ignores a bootstrap
        generation = env.json("get", "statefulset", "db")["metadata"]["generation"]
        apply(
            env,
            mysqlcluster(
                "db",
                replicas=2,
                semiSyncTimeoutMs=2000,
                binlogArchive={"enabled": True},
                bootstrap=by_gtid,
            ),
        )
        for name in ("at-time", "at-gtid"):
            st = wait_until(lambda n=name: ready(env, n, 1), 120, f"the restored cluster {name}")
            m = st["members"][0]
            rows = sql_on(env, name, m["ip"], "SELECT v FROM app.t ORDER BY v")
            assert rows == (("A",),), name
            assert sql_on(env, name, m["ip"], "SELECT @@gtid_binlog_pos")[0][0] == gtid_a

        events = env.ok("events")
        assert "RestorePlanned" in events and "replaying binlogs of db up to" in events
        assert "no completed backup of db before the restore point" in wait_until(
            lambda: env.ok("describe", "mysqlcluster", "too-early"), 30, "RestoreImpossible"
        )
        env.ok("delete", "mysqlcluster", "too-early")

        def ignored() -> str:
            conds = env.json("get", "mysqlcluster", "db")["status"].get("conditions") or []
            c = next((c for c in conds if c["type"] == "BootstrapIgnored"), None)
            return str(c["message"]) if c and c["status"] == "True" else ""

        assert "already has data" in wait_until(ignored, 30, "BootstrapIgnored on db")
        assert "BootstrapIgnored" in env.ok("events")
        # and does not roll its members for it (the template keeps the bootstrap in use)
        assert env.json("get", "statefulset", "db")["metadata"]["generation"] == generation
        assert "BootstrapIgnored" in env.ok("describe", "mysqlcluster", "db")
        # and the source still has both writes
        assert sql_on(env, "db", ip, "SELECT v FROM app.t ORDER BY v") == (("A",), ("B",))

"""Backups through the real daemon: `petset mysql backup --wait` from a
replica of a sandboxed cluster, listed by `petset mysql backups`, with
binlogs archived from the primary."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pymysql
import pytest

from petset.engines.mysql.backup.store import LocalDirectoryStore
from tests.acceptance.conftest import PetsetEnv, make_env

pytestmark = pytest.mark.acceptance

CLUSTER = {
    "apiVersion": "petset.dev/v1alpha1",
    "kind": "MySQLCluster",
    "metadata": {"name": "db"},
    "spec": {"replicas": 2, "semiSyncTimeoutMs": 2000, "binlogArchive": {"enabled": True}},
}


def wait_until(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def admin(env: PetsetEnv, cluster: str) -> str:
    secret = env.json("get", "secret", f"{cluster}-credentials")
    return base64.b64decode(secret["data"]["admin-password"]).decode()


def ready(env: PetsetEnv, cluster: str, n: int) -> dict[str, Any] | None:
    st = env.json("get", "mysqlcluster", cluster).get("status") or {}
    healthy = [m for m in st.get("members") or [] if m.get("healthy")]
    return st if st.get("phase") == "Ready" and len(healthy) == n else None


def test_backup_from_a_replica_then_restore_into_a_new_cluster(tmp_path: Path) -> None:
    with make_env(tmp_path) as env:
        env.ok("apply", "-f", str(env.write("db.json", json.dumps(CLUSTER))))

        st = wait_until(lambda: ready(env, "db", 2), 90, "a ready cluster")
        primary = next(m for m in st["members"] if m["role"] == "primary")
        conn = pymysql.connect(
            host=primary["ip"], user="petset_admin", password=admin(env, "db"), autocommit=True
        )
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE app")
            cur.execute("CREATE TABLE app.t (i INT PRIMARY KEY)")
            cur.executemany("INSERT INTO app.t VALUES (%s)", [(i,) for i in range(100)])
            cur.execute("SELECT @@gtid_binlog_pos")
            row = cur.fetchone()
        conn.close()
        assert row is not None

        def caught_up() -> bool:
            st = env.json("get", "mysqlcluster", "db")["status"]
            return all(m.get("gtid") == row[0] for m in st["members"])

        wait_until(caught_up, 20, "the replica to apply every write")
        out = env.ok("mysql", "backup", "db", "--name", "b1", "--wait")
        assert "Completed" in out
        backup = env.json("get", "backup", "b1")
        bst = backup["status"]
        assert bst["source"]["role"] == "replica" and bst["source"]["member"] == "db-1"
        assert bst["gtid"] == row[0] and bst["size"] > 1_000_000
        assert bst["clusterSpec"]["binlogArchive"] == {"enabled": True}
        store = LocalDirectoryStore(env.home / "backups")
        assert store.get_metadata("default/b1")["sha256"] == bst["sha256"]
        listing = env.ok("mysql", "backups", "db")
        assert "b1" in listing and "Completed" in listing and bst["sha256"][:12] in listing
        events = env.ok("events")
        assert "BackupStarted" in events and "BackupCompleted" in events
        assert "BinlogArchiveStarted" in events
        # the archive holds the primary's binlog up to the last write
        wait_until(lambda: store.segments("default/db"), 10, "archived binlogs")
        seg = store.segments("default/db")[-1]
        assert seg.session.endswith("-db-0") and seg.size > 1000

        # a new cluster from the backup: same data and GTID position, its own passwords
        restored = {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "copy"},
            "spec": {"replicas": 1, "bootstrap": {"fromBackup": {"name": "b1"}}},
        }
        env.ok("apply", "-f", str(env.write("copy.json", json.dumps(restored))))
        st = wait_until(lambda: ready(env, "copy", 1), 90, "the restored cluster")
        conn = pymysql.connect(
            host=st["members"][0]["ip"], user="petset_admin", password=admin(env, "copy")
        )
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), @@gtid_binlog_pos FROM app.t")
            assert cur.fetchone() == (100, bst["gtid"])
        conn.close()

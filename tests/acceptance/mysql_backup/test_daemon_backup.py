"""Backups through the real daemon: `petset mysql backup --wait` from a
replica of a sandboxed cluster, listed by `petset mysql backups`, with
binlogs archived from the primary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pymysql
import pytest

from petset.engines.mysql.backup.store import LocalDirectoryStore
from tests.acceptance.conftest import PetsetEnv, make_env
from tests.acceptance.mysql_backup.daemon import admin, apply, ready, wait_until

pytestmark = pytest.mark.acceptance

CLUSTER = {
    "apiVersion": "petset.dev/v1alpha1",
    "kind": "MySQLCluster",
    "metadata": {"name": "db"},
    "spec": {"replicas": 2, "semiSyncTimeoutMs": 2000, "binlogArchive": {"enabled": True}},
}


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

        # a new cluster from the backup: same data and GTID position, its own
        # passwords; its replica clones the restored primary
        restored = {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "copy"},
            "spec": {"replicas": 2, "bootstrap": {"fromBackup": {"name": "b1"}}},
        }
        env.ok("apply", "-f", str(env.write("copy.json", json.dumps(restored))))
        st = wait_until(lambda: ready(env, "copy", 2), 120, "the restored cluster")
        assert st["primary"] == "copy-0"
        for m in st["members"]:
            conn = pymysql.connect(host=m["ip"], user="petset_admin", password=admin(env, "copy"))
            with conn.cursor() as cur:
                # a fresh clone has written no binlog yet: its position is the slave one
                cur.execute("SELECT COUNT(*), @@gtid_current_pos FROM app.t")
                assert cur.fetchone() == (100, bst["gtid"]), m["name"]
            conn.close()

        schedule_creates_and_prunes(env, store)


def _items(doc: Any) -> list[dict[str, Any]]:
    return list(doc.get("items") or []) if isinstance(doc, dict) else list(doc)


def schedule_creates_and_prunes(env: PetsetEnv, store: LocalDirectoryStore) -> None:
    """A schedule every 3 s (croniter's seconds field) keeping 2: backups are
    taken one at a time and the older ones pruned, data included."""
    spec: dict[str, Any] = {"cluster": "db", "schedule": "* * * * * */3", "keep": 2}
    schedule = {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "BackupSchedule",
        "metadata": {"name": "often"},
    }
    apply(env, {**schedule, "spec": spec})

    def scheduled() -> list[dict[str, Any]]:
        return [
            b
            for b in _items(env.json("get", "backup"))
            if b["metadata"]["name"].startswith("often-")
        ]

    def pruned() -> bool:
        return env.ok("events").count("BackupPruned") >= 2

    wait_until(pruned, 120, "the schedule to prune two backups")
    apply(env, {**schedule, "spec": {**spec, "suspend": True}})
    events = env.ok("events")
    assert events.count("BackupCreated") >= 4

    def all_finished() -> list[dict[str, Any]]:
        bs = scheduled()
        finished = all((b.get("status") or {}).get("phase") in ("Completed", "Failed") for b in bs)
        return bs if finished else []

    kept = wait_until(all_finished, 60, "the last scheduled backup to finish")
    done = [b for b in kept if b["status"]["phase"] == "Completed"]
    assert len(kept) <= 3 and len(done) >= 1, kept
    # pruned Backups took their data with them; the manual one is not the schedule's
    names = {b["metadata"]["name"] for b in kept}
    wait_until(
        lambda: {k.split("/")[1] for k in store.keys("default/") if "often-" in k} <= names,
        30,
        "pruned backups' data to leave the store",
    )
    assert "default/b1" in store.keys("default/")

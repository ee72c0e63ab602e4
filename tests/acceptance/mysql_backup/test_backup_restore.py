"""Backups, restore and point-in-time recovery with real mariadbd members."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petset.api.meta import ObjectKey
from petset.engines.mysql import sql
from petset.engines.mysql.backup.backup import BackupRunner
from petset.engines.mysql.backup.binlogs import BinlogArchiver
from petset.engines.mysql.backup.controllers import reconcile_backup
from petset.engines.mysql.backup.restore import RestoreRequest
from petset.engines.mysql.backup.store import LocalDirectoryStore
from petset.engines.mysql.gtid import GtidPosition
from petset.runtime.memory import MemoryCluster
from tests.acceptance.mysql.members import Member, members, wait_for
from tests.acceptance.mysql_backup.cluster import (
    Writer,
    binlog_pos,
    bring_up,
    checksum,
    cluster_status,
    query,
    restored_member,
)

pytestmark = pytest.mark.acceptance
NEW_ADMIN = sql.Credentials("petset_admin", "new-admin")


@pytest.fixture(scope="module")
def duo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Member]]:
    """One primary and one replica for the module (bringing them up is the slow part)."""
    gen = members(tmp_path_factory.mktemp("src"), 2)
    ms = next(gen)
    bring_up(ms)
    yield ms
    for _ in gen:  # the generator's cleanup stops every process
        pass


def run_backup(
    cluster: MemoryCluster, runner: BackupRunner, ms: list[Member], name: str
) -> dict[str, Any]:
    cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {},
        }
    )
    cluster.patch("MySQLCluster", "db", "default", {"status": cluster_status(ms)})
    cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "Backup",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"cluster": "db"},
        }
    )
    key = ObjectKey("Backup", "default", name)
    seen_progress = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reconcile_backup(cluster, key, runner=runner, clock=time.time)
        st = cluster.get("Backup", name, "default").get("status") or {}
        seen_progress.add((st.get("progress") or {}).get("bytes"))
        if st.get("phase") in ("Completed", "Failed"):
            assert st["phase"] == "Completed", st
            st["seenProgress"] = seen_progress
            return st
        time.sleep(0.2)
    raise AssertionError("backup did not finish")


def test_backup_from_a_replica_under_writes_restores_to_its_gtid(
    duo: list[Member], tmp_path: Path
) -> None:
    primary = duo[0]
    store = LocalDirectoryStore(tmp_path / "store")
    cluster = MemoryCluster()
    start = GtidPosition.parse(binlog_pos(primary)).seq(0)
    rows0 = query(primary, "SELECT COUNT(*) FROM app.t")[0][0]
    with Writer(primary) as writer:
        wait_for(lambda: writer.acked > 200, 10, "writes")
        st = run_backup(cluster, BackupRunner(store, agent_port=8306), duo, "b1")
        time.sleep(0.3)
    assert writer.acked > 300
    assert st["source"] == {"member": "db-1", "role": "replica"}
    assert st["size"] > 1_000_000 and len(st["sha256"]) == 64 and st["binlog"]["file"]
    assert st["clusterSpec"] == {} and st["durationSeconds"] > 0
    assert len(st["seenProgress"]) >= 2  # 0 at start, then live byte counts
    meta = store.get_metadata("default/b1")
    assert meta["gtid"] == st["gtid"] and meta["cluster"] == "db"
    events = [e["reason"] for e in cluster.events]
    assert "BackupStarted" in events and "BackupCompleted" in events
    restored = restored_member(
        tmp_path,
        "restored",
        RestoreRequest(store=str(store.root), namespace="default", backup="b1"),
    )
    try:
        assert binlog_pos(restored, NEW_ADMIN) == st["gtid"]
        # the reference: the source's rows up to the last one the backup holds (one
        # writer, one insert per transaction), in a table of the same definition
        count, last = query(restored, "SELECT COUNT(*), MAX(i) FROM app.t", NEW_ADMIN)[0]
        assert count == rows0 + GtidPosition.parse(st["gtid"]).seq(0) - start
        query(primary, "CREATE TABLE app.ref LIKE app.t")
        query(primary, f"INSERT INTO app.ref SELECT * FROM app.t WHERE i <= {last}")
        assert checksum(restored, NEW_ADMIN) == checksum(primary, table="app.ref")
        assert checksum(restored, NEW_ADMIN) != checksum(primary)
        # the new cluster's own passwords work, the app user too; the old admin one does not
        assert query(restored, "SELECT 1", sql.Credentials("app", "new-app")) == ((1,),)
        with pytest.raises(Exception, match="Access denied"):
            query(restored, "SELECT 1")
    finally:
        restored.stop_all()


def test_point_in_time_restores_exactly_the_first_of_two_writes(
    duo: list[Member], tmp_path: Path
) -> None:
    primary = duo[0]
    store = LocalDirectoryStore(tmp_path / "store")
    archiver = BinlogArchiver(
        store,
        "default/db",
        tmp_path / "staging",
        member="db-0",
        host=primary.ip,
        creds=primary.env.admin,
        interval=0.2,
    )
    archiver.start()
    try:
        cluster = MemoryCluster()
        st = run_backup(cluster, BackupRunner(store, agent_port=8306), duo, "base")
        query(primary, "INSERT INTO app.t (v) VALUES ('first')")
        first_gtid = binlog_pos(primary)
        target = int(time.time()) + 1  # strictly after the first write's second
        time.sleep(max(0.0, target - time.time()) + 0.05)
        query(primary, "INSERT INTO app.t (v) VALUES ('second')")
        last = binlog_pos(primary)

        def archived() -> bool:
            segs = store.segments("default/db")
            return bool(segs) and segs[-1].size >= _binlog_size(primary)

        wait_for(archived, 10, "the archive to hold the second write")
    finally:
        archiver.stop()
    assert archiver.error is None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(target))
    for name, req in (
        ("by-time", RestoreRequest(str(store.root), "default", cluster="db", timestamp=stamp)),
        (
            "by-gtid",
            RestoreRequest(
                str(store.root), "default", backup="base", cluster="db", gtid=first_gtid
            ),
        ),
    ):
        restored = restored_member(tmp_path, name, req)
        try:
            rows = query(restored, "SELECT v FROM app.t WHERE v IN ('first','second')", NEW_ADMIN)
            assert rows == (("first",),), name
            assert binlog_pos(restored, NEW_ADMIN) == first_gtid != last
        finally:
            restored.stop_all()
    assert st["gtid"] != first_gtid


def _binlog_size(m: Member) -> int:
    rows = query(m, "SHOW BINARY LOGS")
    return int(rows[-1][1])

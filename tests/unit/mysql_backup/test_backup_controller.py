"""The Backup controller's decisions against MemoryCluster (no servers: a
source that cannot be reached fails the stream, which is what some tests want)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from petset.api.meta import ObjectKey
from petset.engines.mysql.backup.backup import BackupRunner, Source, choose_source
from petset.engines.mysql.backup.controllers import FINALIZER, reconcile_backup
from petset.engines.mysql.backup.store import LocalDirectoryStore
from petset.runtime.memory import MemoryCluster

KEY = ObjectKey("Backup", "default", "b1")


def members(*specs: tuple[str, str, bool]) -> dict[str, Any]:
    return {
        "initialized": True,
        "members": [
            {"name": n, "role": r, "healthy": h, "ip": f"127.0.0.{i + 1}", "lagSeconds": 0}
            for i, (n, r, h) in enumerate(specs)
        ],
    }


def test_source_is_a_healthy_replica_and_the_primary_only_as_last_resort() -> None:
    st = members(("db-0", "primary", True), ("db-1", "replica", True), ("db-2", "replica", True))
    src = choose_source(st, None)
    assert isinstance(src, Source) and (src.member, src.role) == ("db-2", "replica")
    st = members(("db-0", "primary", True), ("db-1", "replica", False))
    src = choose_source(st, None)
    assert isinstance(src, Source) and src.role == "primary"
    assert "no replica is healthy" in src.message
    assert choose_source(st, "db-1") == (
        "spec.source: member db-1 is not healthy (or does not exist)"
    )
    assert choose_source(members(("db-0", "primary", False)), None) == (
        "no healthy member to back up from"
    )


def setup(tmp_path: Path, status: dict[str, Any]) -> tuple[MemoryCluster, BackupRunner]:
    cluster = MemoryCluster()
    cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"replicas": 2},
        }
    )
    cluster.patch("MySQLCluster", "db", "default", {"status": status})
    cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "Backup",
            "metadata": {"name": "b1", "namespace": "default"},
            "spec": {"cluster": "db"},
        }
    )
    # an agent port nobody listens on: streams fail at once
    return cluster, BackupRunner(LocalDirectoryStore(tmp_path), agent_port=1)


def run_until_finished(cluster: MemoryCluster, runner: BackupRunner) -> dict[str, Any]:
    for _ in range(100):
        reconcile_backup(cluster, KEY, runner=runner, clock=time.time)
        st = cluster.get("Backup", "b1", "default").get("status") or {}
        if st.get("phase") in ("Completed", "Failed"):
            return dict(st)
        time.sleep(0.02)
    raise AssertionError("never finished")


def test_from_the_primary_says_so_and_a_failed_stream_is_never_rerun(tmp_path: Path) -> None:
    cluster, runner = setup(tmp_path, members(("db-0", "primary", True)))
    st = run_until_finished(cluster, runner)
    assert st["phase"] == "Failed" and "streaming from db-0 failed" in st["message"]
    assert st["source"] == {"member": "db-0", "role": "primary"}
    assert [e["reason"] for e in cluster.events] == ["BackupFromPrimary", "BackupFailed"]
    assert reconcile_backup(cluster, KEY, runner=runner, clock=time.time).message == (
        "failed: nothing to do"
    )
    assert cluster.get("Backup", "b1", "default")["metadata"]["finalizers"] == [FINALIZER]
    assert runner.store.keys() == []


def test_pending_until_the_cluster_has_a_healthy_member(tmp_path: Path) -> None:
    cluster, runner = setup(tmp_path, members(("db-0", "primary", False)))
    r = reconcile_backup(cluster, KEY, runner=runner, clock=time.time)
    assert r.requeue_after == 2 and "no healthy member" in r.message
    assert cluster.get("Backup", "b1", "default")["status"]["phase"] == "Pending"


def test_a_daemon_restart_mid_backup_starts_it_again_a_bounded_number_of_times(
    tmp_path: Path,
) -> None:
    cluster, runner = setup(tmp_path, members(("db-0", "primary", True), ("db-1", "replica", True)))
    # what a daemon that died while streaming left behind
    cluster.patch("Backup", "b1", "default", {"status": {"phase": "Running", "attempts": 1}})
    reconcile_backup(cluster, KEY, runner=runner, clock=time.time)
    assert cluster.get("Backup", "b1", "default")["status"]["attempts"] == 2
    assert "BackupRestarted" in [e["reason"] for e in cluster.events]
    runner2 = BackupRunner(runner.store, agent_port=1)  # another restart
    cluster.patch("Backup", "b1", "default", {"status": {"phase": "Running", "attempts": 3}})
    r = reconcile_backup(cluster, KEY, runner=runner2, clock=time.time)
    assert "gave up after 3 attempts" in r.message
    assert cluster.get("Backup", "b1", "default")["status"]["phase"] == "Failed"


def test_deleting_a_backup_deletes_its_data(tmp_path: Path) -> None:
    cluster, runner = setup(tmp_path, members(("db-0", "primary", False)))
    reconcile_backup(cluster, KEY, runner=runner, clock=time.time)  # adds the finalizer
    runner.store.put("default/b1", io.BytesIO(b"data"))
    runner.store.put_metadata("default/b1", {"phase": "Completed"})
    cluster.delete("Backup", "b1", "default")
    assert cluster.get("Backup", "b1", "default")["metadata"]["deletionTimestamp"]
    r = reconcile_backup(cluster, KEY, runner=runner, clock=time.time)
    assert r.message == "deleted the backup's data"
    assert runner.store.keys() == [] and not (tmp_path / "default" / "b1").exists()
    assert cluster.list("Backup", "default") == []


def test_store_put_is_all_or_nothing(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)

    def broken() -> Any:
        yield b"x" * 10
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        store.put("default/b2", broken())
    assert not store.data_path("default/b2").exists()
    got = store.put("default/b2", [b"abc", b"def"], progress=lambda n: None)
    assert got.size == 6 and store.open("default/b2").read() == b"abcdef"
    assert got.sha256 == "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721"

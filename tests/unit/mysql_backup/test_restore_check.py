"""A new cluster's spec.bootstrap is checked against the store before the
restore runs: Events say what will be restored, or why it cannot be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petset.api.meta import ObjectKey
from petset.engines.mysql.backup.restore_check import reconcile_restore_check
from petset.engines.mysql.backup.store import LocalDirectoryStore
from petset.runtime.memory import MemoryCluster

KEY = ObjectKey("MySQLCluster", "default", "copy")


def store_with_backup(root: Path, *, binlogs: bool) -> LocalDirectoryStore:
    store = LocalDirectoryStore(root)
    store.put_metadata(
        "default/base",
        {
            "phase": "Completed",
            "cluster": "db",
            "gtid": "0-100-5",
            "completionTime": "2030-01-01T00:00:00Z",
        },
    )
    if binlogs:
        store.put_segment("default/db", "20300101T000000-db-0", "mysql-bin.000001", [b"x"])
    return store


def check(tmp_path: Path, bootstrap: dict[str, Any], status: dict[str, Any] | None = None) -> str:
    cluster = MemoryCluster()
    cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "copy", "namespace": "default"},
            "spec": {"bootstrap": bootstrap},
            "status": status or {},
        }
    )
    result = reconcile_restore_check(cluster, KEY, store_root=tmp_path / "store")
    events = [f"{e['reason']}: {e['message']}" for e in cluster.events]
    assert len(events) <= 1
    return events[0] if events else f"(no event) {result.message}"


def test_a_possible_restore_is_announced(tmp_path: Path) -> None:
    store_with_backup(tmp_path / "store", binlogs=True)
    said = check(tmp_path, {"fromBackup": {"name": "base"}})
    assert said == "RestorePlanned: restoring backup default/base (GTID 0-100-5)"
    said = check(tmp_path, {"pointInTime": {"cluster": "db", "timestamp": "2030-01-02T00:00:00Z"}})
    assert said.endswith("then replaying binlogs of db up to 2030-01-02T00:00:00Z (exclusive)")


def test_impossible_restores_say_why(tmp_path: Path) -> None:
    store_with_backup(tmp_path / "store", binlogs=False)
    missing = check(tmp_path, {"fromBackup": {"name": "nope"}})
    assert missing.startswith("RestoreImpossible: spec.bootstrap cannot be restored: backup ")
    assert "default/nope is not in the store" in missing
    too_early = check(
        tmp_path, {"pointInTime": {"cluster": "db", "timestamp": "2029-01-01T00:00:00Z"}}
    )
    assert "no completed backup of db before the restore point" in too_early
    no_binlogs = check(
        tmp_path, {"fromBackup": {"name": "base"}, "pointInTime": {"gtid": "0-100-9"}}
    )
    assert "no archived binlogs of cluster db" in no_binlogs


def test_a_store_url_is_read_where_it_points(tmp_path: Path) -> None:
    store_with_backup(tmp_path / "elsewhere", binlogs=False)
    url = f"file://{tmp_path / 'elsewhere'}"
    assert check(tmp_path, {"fromBackup": {"name": "base", "store": url}}).startswith(
        "RestorePlanned: restoring backup default/base"
    )


def test_nothing_is_said_once_the_cluster_is_initialized(tmp_path: Path) -> None:
    said = check(tmp_path, {"fromBackup": {"name": "nope"}}, {"initialized": True})
    assert said.startswith("(no event)")


def test_a_volume_kept_from_an_earlier_cluster_is_pointed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petset.runtime import memory

    store_with_backup(tmp_path / "store", binlogs=False)
    cluster = MemoryCluster()
    # the claim outlived a deleted cluster "copy": it was made a day earlier
    monkeypatch.setattr(memory, "now_iso", lambda: "2000-01-01T00:00:00Z")
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-copy-0", "namespace": "default"},
            "spec": {},
        }
    )
    monkeypatch.setattr(memory, "now_iso", lambda: "2000-01-02T00:00:00Z")
    cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "copy", "namespace": "default"},
            "spec": {"bootstrap": {"fromBackup": {"name": "base"}}},
        }
    )
    reconcile_restore_check(cluster, KEY, store_root=tmp_path / "store")
    said = {e["reason"]: e["message"] for e in cluster.events}
    assert "the volume data-copy-0 was kept" in said["BootstrapMayBeIgnored"]
    assert "RestorePlanned" in said  # if the volume is empty, the restore does run

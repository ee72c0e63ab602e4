"""The binlog-archive controller keeps one archiver on the current primary
and follows a switchover or failover (status.primary) to the new one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from petset.api.meta import ObjectKey
from petset.api.petset_kinds import parse_mysqlcluster
from petset.engines.mysql import sql
from petset.engines.mysql.backup.archive import reconcile_archive
from petset.engines.mysql.backup.binlogs import Archivers, BinlogArchiver
from petset.engines.mysql.backup.store import LocalDirectoryStore
from petset.engines.mysql.render import secret_name
from petset.runtime.memory import MemoryCluster

KEY = ObjectKey("MySQLCluster", "default", "db")


@dataclass
class FakeArchiver:
    member: str
    host: str
    alive: bool = True
    error: str | None = None


class RecordingArchivers(Archivers):
    """Archivers that start nothing: they record what the controller asked."""

    def __init__(self, root: Path) -> None:
        super().__init__(LocalDirectoryStore(root), root / "staging")
        self.fakes: dict[str, FakeArchiver] = {}
        self.started: list[str] = []

    def get(self, archive: str) -> BinlogArchiver | None:
        return self.fakes.get(archive)  # type: ignore[return-value]

    def stop(self, archive: str) -> BinlogArchiver | None:
        return self.fakes.pop(archive, None)  # type: ignore[return-value]

    def start(self, archive: str, *, member: str, host: str, creds: sql.Credentials) -> None:
        assert creds == sql.Credentials("petset_admin", "s3cret")
        self.fakes[archive] = FakeArchiver(member, host)
        self.started.append(member)


def make_cluster(enabled: bool = True) -> MemoryCluster:
    cluster = MemoryCluster()
    obj = cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"replicas": 2, "binlogArchive": {"enabled": enabled}},
        }
    )
    name = secret_name(obj, parse_mysqlcluster(obj).spec)
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"},
            "stringData": {"admin-password": "s3cret"},
        }
    )
    return cluster


def set_primary(cluster: MemoryCluster, primary: str, healthy: bool = True) -> None:
    members = [
        {"name": "db-0", "ip": "127.9.0.1", "healthy": healthy or primary != "db-0"},
        {"name": "db-1", "ip": "127.9.0.2", "healthy": healthy or primary != "db-1"},
    ]
    cluster.patch(
        "MySQLCluster", "db", "default", {"status": {"primary": primary, "members": members}}
    )


def test_archiving_starts_on_the_primary_and_follows_a_switchover(tmp_path: Path) -> None:
    cluster, archivers = make_cluster(), RecordingArchivers(tmp_path)
    set_primary(cluster, "db-0")
    assert (
        "started archiving binlogs from db-0"
        in reconcile_archive(cluster, KEY, archivers=archivers).message
    )
    assert (
        reconcile_archive(cluster, KEY, archivers=archivers).message
        == "archiving binlogs from db-0"
    )
    set_primary(cluster, "db-1")
    reconcile_archive(cluster, KEY, archivers=archivers)
    assert archivers.started == ["db-0", "db-1"]
    assert archivers.fakes["default/db"].host == "127.9.0.2"
    started = [e["message"] for e in cluster.events if e["reason"] == "BinlogArchiveStarted"]
    assert len(started) == 2 and "db-1" in started[1]


def test_an_archiver_that_died_is_restarted_with_a_warning(tmp_path: Path) -> None:
    cluster, archivers = make_cluster(), RecordingArchivers(tmp_path)
    set_primary(cluster, "db-0")
    reconcile_archive(cluster, KEY, archivers=archivers)
    archivers.fakes["default/db"].alive = False
    archivers.fakes["default/db"].error = "mariadb-binlog exited 1"
    reconcile_archive(cluster, KEY, archivers=archivers)
    assert archivers.started == ["db-0", "db-0"]
    assert any(e["reason"] == "BinlogArchiveRestarted" for e in cluster.events)


def test_no_archiving_without_a_healthy_primary_or_when_disabled(tmp_path: Path) -> None:
    cluster, archivers = make_cluster(), RecordingArchivers(tmp_path)
    set_primary(cluster, "db-0", healthy=False)
    assert "waiting" in reconcile_archive(cluster, KEY, archivers=archivers).message
    assert archivers.started == []
    set_primary(cluster, "db-0")
    reconcile_archive(cluster, KEY, archivers=archivers)
    cluster.patch("MySQLCluster", "db", "default", {"spec": {"binlogArchive": {"enabled": False}}})
    assert reconcile_archive(cluster, KEY, archivers=archivers).message == "binlog archiving is off"
    assert archivers.fakes == {}
    assert any(e["reason"] == "BinlogArchiveStopped" for e in cluster.events)

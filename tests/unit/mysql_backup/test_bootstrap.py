"""spec.bootstrap acts only before a cluster is initialized; later edits are
ignored, and status and Events say so."""

from __future__ import annotations

from typing import Any

from petset.engines.mysql.backup.bootstrap import (
    bootstrap_state,
    template_bootstrap,
    track_bootstrap,
)
from petset.runtime.memory import MemoryCluster

B1 = {"fromBackup": {"name": "b1"}}
B2 = {"fromBackup": {"name": "b2"}}


def test_before_initialization_the_spec_is_what_will_be_used() -> None:
    assert bootstrap_state(B1, {}) == {"used": B1}
    assert bootstrap_state(B2, {"bootstrap": {"used": B1}}) == {"used": B2}
    assert bootstrap_state(None, {"initialized": False}) == {"used": None}


def test_once_initialized_the_used_bootstrap_is_frozen_and_edits_are_ignored() -> None:
    restored = {"initialized": True, "bootstrap": {"used": B1}}
    assert bootstrap_state(B1, restored) == {"used": B1}
    changed = bootstrap_state(B2, restored)
    assert changed["used"] == B1 and "changed but is ignored" in changed["ignored"]
    added = bootstrap_state(B1, {"initialized": True, "bootstrap": {"used": None}})
    assert added["used"] is None and "added but is ignored" in added["ignored"]
    assert "already has data" in added["ignored"]
    # removing it after the restore is tidying up, not something to warn about
    assert bootstrap_state(None, restored) == {"used": B1}


def test_a_cluster_initialized_before_the_record_takes_its_spec_as_used() -> None:
    assert bootstrap_state(B1, {"initialized": True}) == {"used": B1}


def test_the_template_keeps_the_bootstrap_in_use() -> None:
    obj: dict[str, Any] = {"status": {"initialized": True, "bootstrap": {"used": None}}}
    assert template_bootstrap(obj, B1) is None  # no rollout for an ignored edit
    assert template_bootstrap({"status": {}}, B1) == B1
    assert template_bootstrap({"status": {"initialized": True}}, B1) == B1


def test_one_event_per_ignored_edit() -> None:
    cluster = MemoryCluster()
    obj = cluster.create(
        {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "MySQLCluster",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {},
        }
    )
    status: dict[str, Any] = {"initialized": True, "bootstrap": {"used": None}}
    for _ in range(3):
        status.update(track_bootstrap(cluster, obj, B1, status))
    status.update(track_bootstrap(cluster, obj, B2, status))
    reasons = [e["reason"] for e in cluster.events]
    assert reasons == ["BootstrapIgnored", "BootstrapIgnored"]
    assert status["bootstrap"]["used"] is None and status["bootstrap"]["ignored"]
    status.update(track_bootstrap(cluster, obj, None, status))
    assert "ignored" not in status["bootstrap"]


def test_a_store_url_mounts_that_directory_instead_of_petsets_own() -> None:
    from petset.engines.mysql.backup.restore import STORE_MOUNT, restore_pod_additions

    own = restore_pod_additions("prod", B1, "/home/petset/backups")
    elsewhere = {"fromBackup": {"name": "b1", "store": "file:///srv/old%20store"}}
    env, volumes, mounts = restore_pod_additions("prod", elsewhere, "/home/petset/backups")
    assert own[1][0]["hostPath"]["path"] == "/home/petset/backups"
    assert volumes[0]["hostPath"] == {"path": "/srv/old store", "type": "Directory"}
    assert mounts[0] == {"name": "backup-store", "mountPath": STORE_MOUNT, "readOnly": True}
    assert {e["name"]: e["value"] for e in env} == {
        "RESTORE_STORE": STORE_MOUNT,
        "RESTORE_NAMESPACE": "prod",
        "RESTORE_BACKUP": "b1",
    }
    # a store URL needs no store of petset's own (a backend without one)
    assert restore_pod_additions("prod", elsewhere, None)[1] == volumes
    assert restore_pod_additions("prod", B1, None) == ([], [], [])


def test_the_cluster_status_carries_the_record_and_the_condition() -> None:
    from petset.api.petset_kinds import parse_mysqlcluster
    from petset.engines.mysql.status import build_status
    from petset.engines.mysql.topology import Decision, Nothing

    obj: dict[str, Any] = {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "MySQLCluster",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"bootstrap": B1},
    }
    spec = parse_mysqlcluster(obj).spec
    base = {"initialized": True, "bootstrap": {"used": None}}
    base.update(track_bootstrap(MemoryCluster(), obj, B1, base))
    st = build_status(obj, spec, [], Decision(Nothing(), "ok"), base, 0.0)
    assert st["bootstrap"]["used"] is None
    cond = next(c for c in st["conditions"] if c["type"] == "BootstrapIgnored")
    assert cond["status"] == "True" and cond["reason"] == "ClusterHasData"
    assert cond["message"] == st["bootstrap"]["ignored"]

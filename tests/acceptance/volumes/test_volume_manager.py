"""VolumeManager on real files: rendered sources, claims, emptyDir, reclaim, usage."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from petset.api.errors import NotFoundError
from petset.api.meta import ObjectKey
from petset.controllers.volumes import volume_config
from petset.controllers.volumes.claims import reconcile_claim
from petset.controllers.volumes.volumes import reconcile_volume
from petset.node.volumes import VolumeNotReady, pods_to_sync, reclaim_all

from .volfixtures import claim, config_map, converge, pod, secret, setup

pytestmark = pytest.mark.acceptance


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_config_map_change_is_visible_through_the_same_path(tmp_path: Path) -> None:
    settings, cluster, vm = setup(tmp_path)
    cluster.create(config_map("cfg", {"my.cnf": "[mysqld]\nmax_connections=10\n"}))
    web = cluster.create(pod("web-0", [{"name": "conf", "configMap": {"name": "cfg"}}]))
    path = vm.prepare(web)["conf"]
    assert path.is_relative_to(settings.pods_dir)
    mounted = path / "my.cnf"  # what the sandbox sees at <mountPath>/my.cnf
    assert "max_connections=10" in mounted.read_text()
    assert _mode(mounted) == 0o644

    cm = cluster.get("ConfigMap", "cfg", "default")
    cm["data"]["my.cnf"] = "[mysqld]\nmax_connections=500\n"
    cm = cluster.update(cm)
    assert pods_to_sync(cm, cluster.list("Pod")) == [cluster.get("Pod", "web-0", "default")]
    assert vm.refresh(web) == ["conf"]
    assert "max_connections=500" in mounted.read_text()
    assert vm.refresh(web) == [], "unchanged sources are not rewritten"

    cluster.delete("ConfigMap", "cfg", "default")
    vm.sync(web)  # a vanished source keeps its last content
    assert "max_connections=500" in mounted.read_text()


def test_secret_files_are_0600_and_items_and_modes_are_honoured(tmp_path: Path) -> None:
    _, cluster, vm = setup(tmp_path)
    cluster.create(secret("creds", {"user": "app", "password": "s3cret", "extra": "x"}))
    volumes = [
        {"name": "all", "secret": {"secretName": "creds"}},
        {"name": "ro", "secret": {"secretName": "creds", "defaultMode": 0o440}},
        {
            "name": "some",
            "secret": {
                "secretName": "creds",
                "items": [
                    {"key": "password", "path": "db/pass"},
                    {"key": "user", "path": "db/user", "mode": 0o400},
                ],
            },
        },
    ]
    paths = vm.prepare(cluster.create(pod("web-0", volumes)))
    assert (paths["all"] / "password").read_text() == "s3cret"
    assert {_mode(paths["all"] / k) for k in ("user", "password", "extra")} == {0o600}
    assert _mode(paths["ro"] / "user") == 0o440
    assert sorted(e for e in os.listdir(paths["some"]) if not e.startswith("..")) == ["db"]
    assert (paths["some"] / "db" / "pass").read_text() == "s3cret"
    assert _mode(paths["some"] / "db" / "pass") == 0o600
    assert _mode(paths["some"] / "db" / "user") == 0o400


def test_missing_sources_block_the_pod_unless_optional(tmp_path: Path) -> None:
    _, cluster, vm = setup(tmp_path)
    web = cluster.create(pod("web-0", [{"name": "c", "configMap": {"name": "nope"}}]))
    with pytest.raises(VolumeNotReady, match='configmap "nope" not found'):
        vm.prepare(web)
    cluster.create(config_map("cfg", {"a": "1"}))
    items = {"name": "cfg", "items": [{"key": "missing", "path": "m"}]}
    with pytest.raises(VolumeNotReady, match='key "missing" not found'):
        vm.prepare(cluster.create(pod("web-1", [{"name": "c", "configMap": items}])))
    optional = {"name": "nope", "optional": True}
    paths = vm.prepare(cluster.create(pod("web-2", [{"name": "c", "configMap": optional}])))
    assert [e for e in os.listdir(paths["c"]) if not e.startswith("..")] == []


def test_downward_api_and_projected_files(tmp_path: Path) -> None:
    _, cluster, vm = setup(tmp_path)
    cluster.create(config_map("cfg", {"a.conf": "A"}))
    cluster.create(secret("creds", {"password": "pw"}))
    downward = {
        "items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
            {
                "path": "mem_mi",
                "resourceFieldRef": {
                    "containerName": "main",
                    "resource": "limits.memory",
                    "divisor": "1Mi",
                },
            },
            {"path": "cpu", "resourceFieldRef": {"resource": "limits.cpu"}},
        ]
    }
    projected = {
        "sources": [
            {"configMap": {"name": "cfg"}},
            {"secret": {"name": "creds"}},
            {
                "downwardAPI": {
                    "items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                }
            },
            {"serviceAccountToken": {"path": "token"}},
        ]
    }
    labels = {"app": "web", "tier": 'd"b'}
    web = cluster.create(
        pod(
            "web-0",
            [{"name": "info", "downwardAPI": downward}, {"name": "all", "projected": projected}],
            labels=labels,
        )
    )
    paths = vm.prepare(web)
    info = paths["info"]
    assert (info / "labels").read_text() == 'app="web"\ntier="d\\"b"'
    assert (info / "name").read_text() == "web-0"
    assert (info / "tier").read_text() == 'd"b'
    assert (info / "mem_mi").read_text() == "256"
    assert (info / "cpu").read_text() == "2"  # 1500m rounded up
    assert (paths["all"] / "a.conf").read_text() == "A"
    assert (paths["all"] / "password").read_text() == "pw"
    assert _mode(paths["all"] / "password") == 0o600
    assert (paths["all"] / "ns").read_text() == "default"
    assert not (paths["all"] / "token").exists()

    web = cluster.get("Pod", "web-0", "default")
    web["metadata"]["labels"]["tier"] = "cache"
    web = cluster.update(web)
    assert vm.refresh(web) == ["info"]
    assert (info / "tier").read_text() == "cache"


def test_claim_must_be_bound_and_its_directory_is_made(tmp_path: Path) -> None:
    settings, cluster, vm = setup(tmp_path)
    cluster.create(claim("data-web-0"))
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}]
    web = cluster.create(pod("web-0", volumes))
    with pytest.raises(VolumeNotReady, match='persistentvolumeclaim "data-web-0" is not bound'):
        vm.prepare(web)
    converge(settings, cluster, vm)  # WaitForFirstConsumer: the pod exists, so it binds
    path = vm.prepare(web)["data"]
    pv_name = cluster.get("PersistentVolumeClaim", "data-web-0", "default")["spec"]["volumeName"]
    assert path == settings.volumes_dir / pv_name
    assert path.is_dir() and _mode(path) == 0o777
    (path / "ibdata1").write_bytes(b"x" * 100_000)
    assert vm.usage(cluster.get("PersistentVolume", pv_name)) >= 100_000

    vm.release(web)
    assert (path / "ibdata1").exists(), "release never touches PV data"


def test_delete_policy_removes_the_directory_retain_keeps_it(tmp_path: Path) -> None:
    settings, cluster, vm = setup(tmp_path)
    keep = dict(cluster.get("StorageClass", "local"))
    keep["metadata"] = {"name": "keep"}
    keep["reclaimPolicy"] = "Retain"
    cluster.create(keep)
    cluster.create(claim("gone"))
    cluster.create(claim("kept", storageClassName="keep"))
    volumes = [
        {"name": "a", "persistentVolumeClaim": {"claimName": "gone"}},
        {"name": "b", "persistentVolumeClaim": {"claimName": "kept"}},
    ]
    web = cluster.create(pod("web-0", volumes))
    converge(settings, cluster, vm)
    paths = vm.prepare(web)
    for p in paths.values():
        (p / "data").write_text("precious")
    gone_pv = cluster.get("PersistentVolumeClaim", "gone", "default")["spec"]["volumeName"]
    kept_pv = cluster.get("PersistentVolumeClaim", "kept", "default")["spec"]["volumeName"]

    cluster.delete("PersistentVolumeClaim", "gone", "default")
    cluster.delete("PersistentVolumeClaim", "kept", "default")
    converge(settings, cluster, vm)
    assert paths["a"].exists(), "pvc-protection: the pod still uses the claims"
    cluster.delete("Pod", "web-0", "default")
    vm.release(web)
    converge(settings, cluster, vm)

    assert not paths["a"].exists()
    with pytest.raises(NotFoundError):
        cluster.get("PersistentVolume", gone_pv)
    assert (paths["b"] / "data").read_text() == "precious"
    assert cluster.get("PersistentVolume", kept_pv)["status"]["phase"] == "Released"


def test_reclaim_refuses_paths_outside_volumes_dir(tmp_path: Path) -> None:
    settings, _, vm = setup(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for path in (str(outside), str(settings.volumes_dir), f"{settings.volumes_dir}/../x"):
        pv = {
            "kind": "PersistentVolume",
            "metadata": {"name": "x"},
            "spec": {"hostPath": {"path": path}},
        }
        with pytest.raises(ValueError, match="refusing"):
            vm.reclaim(pv)
    assert outside.exists()


def test_empty_dir_and_host_path(tmp_path: Path) -> None:
    _, cluster, vm = setup(tmp_path)
    existing = tmp_path / "host-file"
    existing.write_text("h")
    volumes = [
        {"name": "scratch", "emptyDir": {}},
        {"name": "mem", "emptyDir": {"medium": "Memory"}},
        {"name": "made", "hostPath": {"path": str(tmp_path / "made"), "type": "DirectoryOrCreate"}},
        {"name": "file", "hostPath": {"path": str(existing), "type": "File"}},
    ]
    web = cluster.create(pod("web-0", volumes))
    paths = vm.prepare(web)
    assert paths["scratch"].is_dir() and _mode(paths["scratch"]) == 0o777
    assert paths["made"].is_dir()
    assert paths["file"] == existing
    bad = cluster.create(
        pod("web-1", [{"name": "d", "hostPath": {"path": str(existing), "type": "Directory"}}])
    )
    with pytest.raises(VolumeNotReady, match="is not a Directory"):
        vm.prepare(bad)
    vm.release(web)
    assert not paths["scratch"].exists()
    assert paths["made"].exists() and existing.exists()


def test_read_write_once_pod_claim_serves_one_pod(tmp_path: Path) -> None:
    settings, cluster, vm = setup(tmp_path)
    cluster.create(claim("solo", accessModes=["ReadWriteOncePod"]))
    volumes = [{"name": "d", "persistentVolumeClaim": {"claimName": "solo"}}]
    first = cluster.create(pod("a", volumes))
    converge(settings, cluster, vm)
    vm.prepare(first)
    second = cluster.create(pod("b", volumes))
    with pytest.raises(VolumeNotReady, match='in use by pod "a"'):
        vm.prepare(second)


def test_reclaim_sweep_removes_deleted_volumes(tmp_path: Path) -> None:
    settings, cluster, vm = setup(tmp_path)
    immediate = dict(cluster.get("StorageClass", "local"))
    immediate["metadata"] = {"name": "now"}
    immediate["volumeBindingMode"] = "Immediate"
    cluster.create(immediate)
    cluster.create(claim("tmp", storageClassName="now"))
    config = volume_config(settings)
    reconcile_claim(cluster, ObjectKey("PersistentVolumeClaim", "default", "tmp"), config)
    pv_name = cluster.get("PersistentVolumeClaim", "tmp", "default")["spec"]["volumeName"]
    path = Path(cluster.get("PersistentVolume", pv_name)["spec"]["hostPath"]["path"])
    path.mkdir(parents=True)  # as prepare() would when a pod mounts it
    (path / "f").write_text("x")

    cluster.delete("PersistentVolumeClaim", "tmp", "default")
    reconcile_claim(cluster, ObjectKey("PersistentVolumeClaim", "default", "tmp"), config)
    for _ in range(2):
        reconcile_volume(cluster, ObjectKey("PersistentVolume", "", pv_name), config)
    assert reclaim_all(cluster, vm) == [f"{pv_name}: volume deleted and its directory removed"]
    assert not path.exists()
    assert cluster.list("PersistentVolume") == []

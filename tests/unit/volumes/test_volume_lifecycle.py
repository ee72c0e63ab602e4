"""Reclaim (Retain/Delete), pvc-protection and expansion of bound claims."""

from __future__ import annotations

from pathlib import Path

from volume_fixtures import claim, converge, get_or_none, new_cluster, pod, reasons, storage_class

from petset.api.settings import Settings
from petset.controllers.registry import all_controllers
from petset.controllers.volumes import claim_controller, volume_controller
from petset.controllers.volumes.quantity import QuantityError, format_bytes, storage_bytes
from petset.runtime.memory import MemoryCluster

PVC, PV = "PersistentVolumeClaim", "PersistentVolume"


def _bound(c: MemoryCluster, name: str = "data", size: str = "1Gi", cls: str = "fast") -> str:
    c.create(claim(name, size, cls=cls))
    converge(c)
    pvc = c.get(PVC, name, "default")
    assert pvc["status"]["phase"] == "Bound"
    return str(pvc["spec"]["volumeName"])


def test_delete_policy_deletes_the_pv_and_leaves_the_directory_to_the_node() -> None:
    c = new_cluster()
    pv_name = _bound(c)
    c.delete(PVC, "data", "default")
    converge(c)
    assert get_or_none(c, PVC, "data", "default") is None
    pv = c.get(PV, pv_name)
    # Deleted, held only by the provisioner's finalizer until the node removes the data.
    assert pv["metadata"]["deletionTimestamp"]
    assert pv["metadata"]["finalizers"] == ["petset.dev/local/volume-reclaim"]
    assert pv["status"]["phase"] == "Released"


def test_retain_policy_keeps_the_released_pv() -> None:
    c = new_cluster()
    c.create(storage_class("keep", reclaimPolicy="Retain"))
    pv_name = _bound(c, cls="keep")
    c.delete(PVC, "data", "default")
    converge(c)
    pv = c.get(PV, pv_name)
    assert pv["status"]["phase"] == "Released"
    assert not pv["metadata"].get("deletionTimestamp")
    # A new claim with the same name does not get the released volume back.
    c.create(claim("data", cls="keep"))
    converge(c)
    assert c.get(PVC, "data", "default")["spec"]["volumeName"] != pv_name
    assert c.get(PV, pv_name)["status"]["phase"] == "Released"


def test_pvc_protection_holds_deletion_until_no_pod_uses_the_claim() -> None:
    c = new_cluster()
    pv_name = _bound(c)
    c.create(pod("web-0", "data"))
    c.delete(PVC, "data", "default")
    messages = converge(c)
    assert "deletion waits: claim is in use by pod web-0" in messages
    assert c.get(PVC, "data", "default")["metadata"]["deletionTimestamp"]
    assert c.get(PV, pv_name)["status"]["phase"] == "Bound"

    finished = c.get("Pod", "web-0", "default")
    finished["status"] = {"phase": "Succeeded"}
    c.update_status(finished)
    converge(c)
    assert get_or_none(c, PVC, "data", "default") is None
    assert c.get(PV, pv_name)["status"]["phase"] == "Released"


def test_pv_protection_holds_a_bound_pv_being_deleted() -> None:
    c = new_cluster()
    pv_name = _bound(c)
    c.delete(PV, pv_name)
    assert "deletion waits: volume is bound to a claim" in converge(c)
    assert c.get(PV, pv_name)["metadata"]["deletionTimestamp"]


def test_growing_a_claim_grows_the_volume_with_upstream_events() -> None:
    c = new_cluster()
    pv_name = _bound(c, size="1Gi")
    pvc = c.get(PVC, "data", "default")
    pvc["spec"]["resources"]["requests"]["storage"] = "5Gi"
    c.update(pvc)
    messages = converge(c)
    assert f"volume {pv_name} grown to 5Gi" in messages
    assert c.get(PV, pv_name)["spec"]["capacity"] == {"storage": "5Gi"}
    status = c.get(PVC, "data", "default")["status"]
    assert status["capacity"] == {"storage": "5Gi"}
    assert status["allocatedResources"] == {"storage": "5Gi"}
    assert "conditions" not in status
    got = reasons(c, "data")
    for reason in ("Resizing", "VolumeResizeSuccessful", "FileSystemResizeSuccessful"):
        assert reason in got


def test_shrinking_is_refused_with_a_warning_naming_the_field() -> None:
    c = new_cluster()
    pv_name = _bound(c, size="2Gi")
    pvc = c.get(PVC, "data", "default")
    pvc["spec"]["resources"]["requests"]["storage"] = "1Gi"
    c.update(pvc)
    converge(c)
    assert c.get(PV, pv_name)["spec"]["capacity"] == {"storage": "2Gi"}
    status = c.get(PVC, "data", "default")["status"]
    assert status["capacity"] == {"storage": "2Gi"}
    warning = next(e for e in c.events if e["reason"] == "VolumeResizeFailed")
    assert warning["type"] == "Warning"
    assert warning["message"].startswith("spec.resources.requests.storage: cannot shrink")
    assert status["conditions"][0]["reason"] == "ShrinkNotSupported"

    pvc = c.get(PVC, "data", "default")
    pvc["spec"]["resources"]["requests"]["storage"] = "2Gi"
    c.update(pvc)
    converge(c)
    assert "conditions" not in c.get(PVC, "data", "default")["status"]


def test_expansion_needs_a_class_that_allows_it() -> None:
    c = new_cluster()
    c.create(storage_class("fixed", allowVolumeExpansion=False))
    pv_name = _bound(c, cls="fixed")
    pvc = c.get(PVC, "data", "default")
    pvc["spec"]["resources"]["requests"]["storage"] = "3Gi"
    c.update(pvc)
    converge(c)
    assert c.get(PV, pv_name)["spec"]["capacity"] == {"storage": "1Gi"}
    warning = next(e for e in c.events if e["reason"] == "VolumeResizeFailed")
    assert "allowVolumeExpansion" in warning["message"]


def test_growing_within_a_larger_static_volume_needs_no_resize() -> None:
    c = new_cluster()
    c.create(
        {
            "apiVersion": "v1",
            "kind": PV,
            "metadata": {"name": "big"},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "manual",
                "hostPath": {"path": "/data/big"},
            },
        }
    )
    _bound(c, cls="manual")
    pvc = c.get(PVC, "data", "default")
    pvc["spec"]["resources"]["requests"]["storage"] = "4Gi"
    c.update(pvc)
    converge(c)
    status = c.get(PVC, "data", "default")["status"]
    assert status["capacity"] == {"storage": "10Gi"}
    assert status["allocatedResources"] == {"storage": "4Gi"}
    assert "Resizing" not in reasons(c, "data")


def test_quantities() -> None:
    assert storage_bytes("1Gi") == 2**30
    assert storage_bytes("1.5G") == 1_500_000_000
    assert storage_bytes("1e3") == 1000
    assert storage_bytes("100m") == 1  # rounded up, as Quantity.Value()
    assert format_bytes(3 * 2**30) == "3Gi"
    assert format_bytes(1536 * 2**20) == "1536Mi"
    try:
        storage_bytes("1 gigabyte")
    except QuantityError as err:
        assert "1Gi" in str(err)
    else:
        raise AssertionError("expected QuantityError")


def test_controllers_are_registered() -> None:
    settings = Settings(home=Path("/nonexistent"))
    names = {c.name for c in all_controllers(settings)}
    assert {claim_controller(settings).name, volume_controller(settings).name} <= names

"""PVC binding and provisioning, as Kubernetes' PV controller decides them."""

from __future__ import annotations

from volume_fixtures import (
    CONFIG,
    claim,
    converge,
    get_or_none,
    new_cluster,
    pod,
    reasons,
    storage_class,
    volume,
)

from petset.api.meta import ObjectKey
from petset.controllers.volumes import ensure_default_storage_class
from petset.controllers.volumes.claims import reconcile_claim
from petset.controllers.volumes.matching import find_matching_volume
from petset.runtime.memory import MemoryCluster

PVC, PV = "PersistentVolumeClaim", "PersistentVolume"


def test_smallest_fitting_available_volume_is_chosen() -> None:
    c = new_cluster()
    for name, size in (("big", "10Gi"), ("small", "500Mi"), ("fits", "2Gi"), ("fits2", "3Gi")):
        c.create(volume(name, size))
    c.create(claim("data", "1Gi", cls="manual"))
    converge(c)
    pvc = c.get(PVC, "data", "default")
    assert pvc["spec"]["volumeName"] == "fits"
    assert pvc["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "2Gi"},
        "allocatedResources": {"storage": "1Gi"},
    }
    pv = c.get(PV, "fits")
    assert pv["status"]["phase"] == "Bound"
    assert pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    assert c.get(PV, "big")["status"]["phase"] == "Available"


def test_matching_checks_class_modes_selector_and_volume_mode() -> None:
    want = claim(
        "data",
        "1Gi",
        cls="manual",
        accessModes=["ReadWriteOnce", "ReadOnlyMany"],
        selector={"matchLabels": {"tier": "db"}},
    )
    candidates = [
        volume("other-class", "1Gi", cls="slow", labels={"tier": "db"}),
        volume("one-mode", "1Gi", labels={"tier": "db"}),
        volume("no-label", "1Gi", accessModes=["ReadWriteOnce", "ReadOnlyMany"]),
        volume("block", "1Gi", volumeMode="Block", accessModes=["ReadWriteOnce", "ReadOnlyMany"]),
        volume("good", "5Gi", labels={"tier": "db"}, accessModes=["ReadOnlyMany", "ReadWriteOnce"]),
    ]
    candidates[3]["metadata"]["labels"] = {"tier": "db"}
    for pv in candidates:
        pv["status"] = {"phase": "Available"}
    chosen = find_matching_volume(want, candidates)
    assert chosen is not None and chosen["metadata"]["name"] == "good"


def test_volume_pre_bound_to_the_claim_wins_and_others_claimed_are_skipped() -> None:
    want = claim("data", "1Gi", cls="manual")
    want["metadata"]["uid"] = "u1"
    taken = volume("taken", "1Gi", claimRef={"namespace": "default", "name": "other"})
    mine = volume("mine", "8Gi", claimRef={"namespace": "default", "name": "data"})
    free = volume("free", "1Gi")
    chosen = find_matching_volume(want, [taken, free, mine])
    assert chosen is not None and chosen["metadata"]["name"] == "mine"
    assert find_matching_volume(want, [taken]) is None


def test_immediate_class_provisions_a_local_volume_without_a_pod() -> None:
    c = new_cluster()
    c.create(claim("data", "3Gi"))
    converge(c)
    pvc = c.get(PVC, "data", "default")
    pv_name = f"pvc-{pvc['metadata']['uid']}"
    assert pvc["spec"]["volumeName"] == pv_name
    assert pvc["status"]["phase"] == "Bound"
    pv = c.get(PV, pv_name)
    assert pv["spec"]["hostPath"] == {
        "path": f"{CONFIG.volumes_dir}/{pv_name}",
        "type": "DirectoryOrCreate",
    }
    assert pv["spec"]["capacity"] == {"storage": "3Gi"}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["storageClassName"] == "fast"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "petset.dev/local"
    assert pv["spec"]["claimRef"]["name"] == "data"
    assert pv["status"]["phase"] == "Bound"
    assert "ProvisioningSucceeded" in reasons(c, "data")


def test_wait_for_first_consumer_provisions_only_once_a_pod_uses_the_claim() -> None:
    c = new_cluster()
    c.create(storage_class("lazy", mode="WaitForFirstConsumer"))
    c.create(claim("data", cls="lazy"))
    messages = converge(c)
    assert "waiting for first consumer to be created before binding" in messages
    assert c.list(PV) == []
    assert c.get(PVC, "data", "default")["status"]["phase"] == "Pending"
    assert "WaitForFirstConsumer" in reasons(c, "data")

    c.create(pod("web-0", "data"))
    converge(c)
    pvc = c.get(PVC, "data", "default")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node-a"


def test_wait_for_first_consumer_delays_binding_to_static_volumes_too() -> None:
    c = new_cluster()
    c.create(storage_class("lazy", mode="WaitForFirstConsumer"))
    c.create(volume("static", "1Gi", cls="lazy"))
    c.create(claim("data", cls="lazy"))
    converge(c)
    assert c.get(PV, "static")["status"]["phase"] == "Available"
    c.create(pod("web-0", "data"))
    converge(c)
    assert c.get(PVC, "data", "default")["spec"]["volumeName"] == "static"


def test_default_class_is_local_wait_for_first_consumer_and_assigned_to_claims() -> None:
    c = MemoryCluster()
    sc = ensure_default_storage_class(c)
    assert sc["metadata"]["name"] == "local"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True
    c.create(claim("data", cls=None))
    c.create(pod("web-0", "data"))
    converge(c)
    pvc = c.get(PVC, "data", "default")
    assert pvc["spec"]["storageClassName"] == "local"
    assert pvc["status"]["phase"] == "Bound"


def test_ensure_default_class_is_idempotent_and_keeps_user_edits() -> None:
    c = MemoryCluster()
    first = ensure_default_storage_class(c)
    edited = dict(first, reclaimPolicy="Retain")
    c.update(edited)
    again = ensure_default_storage_class(c)
    assert again["reclaimPolicy"] == "Retain"
    assert len(c.list("StorageClass")) == 1


def test_local_is_not_made_default_when_the_user_has_a_default() -> None:
    c = MemoryCluster()
    mine = storage_class("mine")
    mine["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    c.create(mine)
    local = ensure_default_storage_class(c)
    assert local["metadata"]["annotations"] == {}
    c.create(claim("data", cls=None))
    converge(c)
    assert c.get(PVC, "data", "default")["spec"]["storageClassName"] == "mine"


def test_empty_class_binds_only_classless_volumes_and_says_why_it_waits() -> None:
    c = new_cluster()
    c.create(claim("data", cls=""))
    assert any("no storage class is set" in m for m in converge(c))
    assert c.list(PV) == []
    c.create(volume("plain", "1Gi", cls=""))
    converge(c)
    assert c.get(PVC, "data", "default")["spec"]["volumeName"] == "plain"


def test_unknown_access_mode_is_rejected_with_a_warning() -> None:
    c = new_cluster()
    c.create(claim("data", accessModes=["ReadWriteSometimes"]))
    converge(c)
    assert c.list(PV) == []
    warning = next(e for e in c.events if e["reason"] == "ProvisioningFailed")
    assert warning["type"] == "Warning"
    assert "spec.accessModes" in warning["message"]
    assert "ReadWriteSometimes" in warning["message"]


def test_missing_class_and_external_provisioner_leave_the_claim_pending() -> None:
    c = new_cluster()
    ext = storage_class("ebs")
    ext["provisioner"] = "ebs.csi.aws.com"
    c.create(ext)
    c.create(claim("a", cls="nope"))
    c.create(claim("b", cls="ebs"))
    converge(c)
    assert c.list(PV) == []
    assert "ProvisioningFailed" in reasons(c, "a")
    assert "ExternalProvisioning" in reasons(c, "b")
    b = c.get(PVC, "b", "default")
    assert b["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == (
        "ebs.csi.aws.com"
    )


def test_bound_claim_whose_volume_vanished_is_lost() -> None:
    c = new_cluster()
    c.create(volume("static", "1Gi"))
    c.create(claim("data", cls="manual"))
    converge(c)
    pv = c.get(PV, "static")
    pv["metadata"]["finalizers"] = []
    c.update(pv)
    c.delete(PV, "static")
    assert get_or_none(c, PV, "static") is None
    result = reconcile_claim(c, ObjectKey(PVC, "default", "data"), CONFIG)
    assert result.message == "claim lost its volume static"
    assert c.get(PVC, "data", "default")["status"]["phase"] == "Lost"
    assert "ClaimLost" in reasons(c, "data")


def test_provisioning_is_idempotent_across_passes() -> None:
    c = new_cluster()
    c.create(claim("data"))
    converge(c)
    converge(c)
    assert len(c.list(PV)) == 1
    assert reasons(c, "data").count("ProvisioningSucceeded") == 1

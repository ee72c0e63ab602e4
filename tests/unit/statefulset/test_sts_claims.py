"""Claims: retention policies, expansion, and adoption/release of pods."""

from __future__ import annotations

import pytest

from petset.controllers.statefulset import claims
from petset.controllers.statefulset.identity import with_defaults
from petset.runtime.controller import TemporaryError
from petset.runtime.memory import MemoryCluster

from .sts_fakes import NS, Driver, patch_spec, pods_by_ordinal, statefulset


def _claims(cluster: MemoryCluster) -> list[str]:
    return sorted(c["metadata"]["name"] for c in cluster.list("PersistentVolumeClaim", NS))


def _owner_kinds(cluster: MemoryCluster, name: str) -> list[str]:
    claim = cluster.get("PersistentVolumeClaim", name, NS)
    return sorted(r["kind"] for r in claim["metadata"].get("ownerReferences") or [])


def _policy(when_deleted: str, when_scaled: str) -> dict[str, str]:
    return {"whenDeleted": when_deleted, "whenScaled": when_scaled}


def test_when_scaled_delete_removes_the_claims_of_condemned_pods() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(replicas=3, persistentVolumeClaimRetentionPolicy=_policy("Retain", "Delete"))
    )
    d.converge()
    assert _owner_kinds(d.cluster, "data-web-2") == []
    patch_spec(d.cluster, replicas=1)
    d.converge()
    assert _claims(d.cluster) == ["data-web-0"]
    # Scaling up again makes fresh claims.
    patch_spec(d.cluster, replicas=2)
    d.converge()
    assert _claims(d.cluster) == ["data-web-0", "data-web-1"]


def test_when_deleted_delete_makes_the_set_own_claims_and_collects_them() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(replicas=2, persistentVolumeClaimRetentionPolicy=_policy("Delete", "Retain"))
    )
    d.converge()
    assert _owner_kinds(d.cluster, "data-web-0") == ["StatefulSet"]
    patch_spec(d.cluster, replicas=1)
    d.converge()
    assert _claims(d.cluster) == ["data-web-0", "data-web-1"]  # scaled: retained
    d.cluster.delete("StatefulSet", "web", NS)
    assert _claims(d.cluster) == []


def test_delete_delete_moves_ownership_to_the_pod_when_condemned() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(replicas=2, persistentVolumeClaimRetentionPolicy=_policy("Delete", "Delete"))
    )
    d.converge()
    assert _owner_kinds(d.cluster, "data-web-1") == ["StatefulSet"]
    patch_spec(d.cluster, replicas=1)
    sts = with_defaults(d.cluster.get("StatefulSet", "web", NS))
    condemned = d.cluster.get("Pod", "web-1", NS)
    claim = d.cluster.get("PersistentVolumeClaim", "data-web-1", NS)
    # The condemned pod is made the owner of its claim before it is deleted.
    assert claims.set_owners(sts, condemned, claim)
    assert sorted(r["kind"] for r in claim["metadata"]["ownerReferences"]) == ["Pod"]
    d.converge()
    assert _claims(d.cluster) == ["data-web-0"]
    assert _owner_kinds(d.cluster, "data-web-0") == ["StatefulSet"]


def test_retain_retain_leaves_claims_unowned_even_after_a_policy_change() -> None:
    d = Driver()
    d.cluster.create(
        statefulset(replicas=1, persistentVolumeClaimRetentionPolicy=_policy("Delete", "Retain"))
    )
    d.converge()
    assert _owner_kinds(d.cluster, "data-web-0") == ["StatefulSet"]
    patch_spec(d.cluster, persistentVolumeClaimRetentionPolicy=_policy("Retain", "Retain"))
    d.converge()
    assert _owner_kinds(d.cluster, "data-web-0") == []


def test_raising_the_template_request_expands_every_claim() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    sts = d.cluster.get("StatefulSet", "web", NS)
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi"
    d.cluster.update(sts)
    result = d.reconcile()
    assert result.message == (
        "expanding claim data-web-0 from 1Gi to 2Gi; expanding claim data-web-1 from 1Gi to 2Gi"
    )
    for name in ("data-web-0", "data-web-1"):
        claim = d.cluster.get("PersistentVolumeClaim", name, NS)
        assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    # Pods are not replaced for storage.
    assert d.deleted_order == []
    d.converge()
    assert d.deleted_order == []


def test_lowering_the_template_request_is_ignored_with_a_warning() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=1))
    d.converge()
    sts = d.cluster.get("StatefulSet", "web", NS)
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "512Mi"
    d.cluster.update(sts)
    d.converge()
    claim = d.cluster.get("PersistentVolumeClaim", "data-web-0", NS)
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    warnings = [e for e in d.cluster.events if e["type"] == "Warning"]
    assert [w["reason"] for w in warnings] == ["ShrinkIgnored"]
    assert "a volume cannot shrink" in warnings[0]["message"]


def test_orphan_pods_and_claims_are_adopted() -> None:
    d = Driver()
    d.cluster.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-web-0", "namespace": NS, "labels": {"app": "web"}},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    orphan = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": NS, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": "nginx:1"}]},
        "status": {"phase": "Pending"},
    }
    claim_uid = d.cluster.list("PersistentVolumeClaim", NS)[0]["metadata"]["uid"]
    pod_uid = d.cluster.create(orphan)["metadata"]["uid"]
    stranger = dict(orphan, metadata={"name": "cache-0", "namespace": NS, "labels": {"app": "web"}})
    d.cluster.create(stranger)
    sts = d.cluster.create(
        statefulset(replicas=1, persistentVolumeClaimRetentionPolicy=_policy("Delete", "Retain"))
    )
    d.reconcile()  # adopts; then waits for the Pending pod to be Ready
    assert d.cluster.get("Pod", "web-0", NS)["metadata"]["ownerReferences"]
    d.kubelet.step()
    d.reconcile()
    pod = d.cluster.get("Pod", "web-0", NS)
    ref = pod["metadata"]["ownerReferences"][0]
    assert ref["uid"] == sts["metadata"]["uid"] and ref["controller"] is True
    # Adopted, and its identity and storage repaired in place.
    assert pod["metadata"]["uid"] == pod_uid
    assert pod["spec"]["hostname"] == "web-0"
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "data-web-0"
    # It carries no revision, so (as upstream) the rolling update replaces it;
    # the member keeps its claim.
    d.converge()
    assert d.deleted_order == ["web-0"]
    claim = d.cluster.get("PersistentVolumeClaim", "data-web-0", NS)
    assert claim["metadata"]["uid"] == claim_uid
    assert _owner_kinds(d.cluster, "data-web-0") == ["StatefulSet"]
    # A pod whose name is not `<set>-<ordinal>` is not the set's, labels or not.
    assert not d.cluster.get("Pod", "cache-0", NS)["metadata"].get("ownerReferences")
    assert any(e["reason"] == "Adopted" for e in d.cluster.events)


def test_a_pod_whose_labels_stop_matching_is_released() -> None:
    d = Driver()
    d.cluster.create(statefulset(replicas=2))
    d.converge()
    pod = d.cluster.get("Pod", "web-1", NS)
    uid = pod["metadata"]["uid"]
    pod["metadata"]["labels"]["app"] = "debug"
    d.cluster.update(pod)
    # As upstream, the released pod keeps the name, so the member cannot be
    # recreated until someone removes it: the error says so.
    with pytest.raises(TemporaryError, match="cannot create web-1: a Pod of that name exists"):
        d.reconcile()
    released = next(p for p in d.cluster.list("Pod", NS) if p["metadata"]["uid"] == uid)
    assert not released["metadata"]["ownerReferences"]
    assert released["metadata"].get("deletionTimestamp") is None
    assert any(e["reason"] == "Released" for e in d.cluster.events)
    # The status is written even though the pass failed, with the reason.
    cond = d.cluster.get("StatefulSet", "web", NS)["status"]["conditions"][0]
    assert cond["status"] == "False" and cond["reason"] == "Error"
    assert cond["message"].startswith("error: cannot create web-1")
    d.cluster.delete("Pod", "web-1", NS)
    d.kubelet.step()
    d.converge()
    assert len(pods_by_ordinal(d.cluster)) == 2

"""The node's finalizer keeps a deleted pod Terminating until the node lets go."""

from __future__ import annotations

from petset.api.meta import owner_reference
from petset.node.binding import FINALIZER, claim, ip_releasable, unclaim
from petset.runtime.memory import MemoryCluster


def _pod(cluster: MemoryCluster, name: str, **meta: object) -> dict[str, object]:
    return cluster.create(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", **meta},
            "spec": {"containers": [{"name": "c", "command": ["true"]}]},
        }
    )


def test_claim_then_delete_keeps_pod_until_unclaimed() -> None:
    cluster = MemoryCluster()
    pod = _pod(cluster, "p", finalizers=["other/keep"])
    stored = claim(cluster, pod, "local")
    assert stored["spec"]["nodeName"] == "local"
    assert stored["metadata"]["finalizers"] == ["other/keep", FINALIZER]
    assert claim(cluster, stored, "local") == cluster.get("Pod", "p", "default")  # idempotent
    cluster.delete("Pod", "p", "default")
    assert cluster.get("Pod", "p", "default")["metadata"]["deletionTimestamp"]
    unclaim(cluster, stored)
    assert cluster.get("Pod", "p", "default")["metadata"]["finalizers"] == ["other/keep"]


def test_claim_and_unclaim_ignore_a_replacement_with_another_uid() -> None:
    cluster = MemoryCluster()
    old = _pod(cluster, "p")
    cluster.delete("Pod", "p", "default")
    new = _pod(cluster, "p")
    claim(cluster, old, "local")
    assert not cluster.get("Pod", "p", "default")["metadata"].get("finalizers")
    claim(cluster, new, "local")
    unclaim(cluster, old)
    assert cluster.get("Pod", "p", "default")["metadata"]["finalizers"] == [FINALIZER]


def test_ip_kept_while_the_controller_lives() -> None:
    cluster = MemoryCluster()
    sts = cluster.create(
        {
            "kind": "StatefulSet",
            "apiVersion": "apps/v1",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {},
        }
    )
    owned = _pod(cluster, "web-0", ownerReferences=[owner_reference(sts)])
    bare = _pod(cluster, "bare")
    assert ip_releasable(cluster, bare)
    assert not ip_releasable(cluster, owned)
    cluster.delete("StatefulSet", "web", "default", propagation="Orphan")
    assert ip_releasable(cluster, owned)

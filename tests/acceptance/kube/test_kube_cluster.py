"""KubeCluster against a real kube-apiserver: the Cluster contract, watches, Events."""

from __future__ import annotations

import time

import pytest

from petset.api.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from petset.api.meta import Obj
from petset.kube.cluster import KubeCluster

# the first test to need the control plane may build it (minutes, once per machine)
pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(1800)]


def _cm(ns: str, name: str = "c", **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": data}  # fmt: skip


def test_crud_conflicts_and_not_found(kube: KubeCluster, namespace: str) -> None:
    made = kube.create(_cm(namespace, a="1"))
    assert made["kind"] == "ConfigMap" and made["metadata"]["resourceVersion"]
    with pytest.raises(AlreadyExistsError):
        kube.create(_cm(namespace))
    fresh = kube.get("ConfigMap", "c", namespace)
    fresh["data"] = {"a": "2"}
    kube.update(fresh)
    made["data"] = {"a": "3"}
    with pytest.raises(ConflictError):
        kube.update(made)  # stale resourceVersion
    patched = kube.patch("ConfigMap", "c", namespace, {"data": {"b": "x"}})
    assert patched["data"] == {"a": "2", "b": "x"}
    assert "c" in [o["metadata"]["name"] for o in kube.list("ConfigMap", namespace)]
    with pytest.raises(ConflictError):
        kube.delete("ConfigMap", "c", namespace, uid="not-its-uid")
    kube.delete("ConfigMap", "c", namespace, uid=made["metadata"]["uid"])
    with pytest.raises(NotFoundError):
        kube.get("ConfigMap", "c", namespace)


def test_status_is_written_only_through_update_status(kube: KubeCluster, namespace: str) -> None:
    svc = kube.create({"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": "s", "namespace": namespace},
                       "spec": {"ports": [{"port": 80}]}})  # fmt: skip
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    assert kube.update(svc)["status"] == {"loadBalancer": {}}
    fresh = kube.get("Service", "s", namespace)
    fresh["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    assert kube.update_status(fresh)["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.1"


def test_invalid_objects_say_which_field(kube: KubeCluster, namespace: str) -> None:
    with pytest.raises(InvalidError) as err:
        kube.create(_cm(namespace, **{"bad key!": "x"}))
    assert any(p.startswith("data[bad key!]") for p in err.value.problems)


def test_watch_lists_then_follows_changes(kube: KubeCluster, namespace: str) -> None:
    kube.create(_cm(namespace, "one"))
    # kube-controller-manager publishes kube-root-ca.crt into every namespace
    events = kube.watch("ConfigMap", namespace, timeout=2)
    first = next(e for e in events if e.object["metadata"]["name"] == "one")
    assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "one")
    rv = first.resource_version
    events.close()
    kube.patch("ConfigMap", "one", namespace, {"data": {"k": "v"}})
    kube.delete("ConfigMap", "one", namespace)
    later = kube.watch("ConfigMap", namespace, resource_version=rv, timeout=2)
    seen = [(e.type, e.object["metadata"]["name"]) for e in later
            if e.object["metadata"]["name"] == "one"]  # fmt: skip
    assert seen == [("MODIFIED", "one"), ("DELETED", "one")]


def test_events_are_deduplicated(kube: KubeCluster, namespace: str) -> None:
    cm = kube.create(_cm(namespace, "e"))
    for _ in range(3):
        kube.record_event(cm, type="Warning", reason="Tested", message="same words")
    kube.record_event(cm, type="Normal", reason="Tested", message="other words")
    events = kube.list("Event", namespace, field_selector="involvedObject.name=e")
    counts = sorted((e["message"], e["count"]) for e in events)
    assert counts == [("other words", 1), ("same words", 3)]


def test_exec_and_logs_of_a_pod_without_a_node_fail_clearly(
    kube: KubeCluster, namespace: str
) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
           "spec": {"containers": [{"name": "c", "image": "debian:12"}]}}  # fmt: skip
    kube.create(pod)
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="does not have a host assigned"):
        kube.pod_exec(namespace, "p", ["true"], timeout=5)
    assert kube.pod_logs(namespace, "p") == ""  # nothing ran: the API server answers 204
    # a failure, not a hang: generous, since a loaded 2-core CI machine took 24 s
    assert time.monotonic() - started < 90


def test_discovery_offers_what_this_server_has(kube: KubeCluster) -> None:
    assert kube.server_version().startswith("1.")
    assert kube.preferred_version("coordination.k8s.io") == "coordination.k8s.io/v1"
    assert kube.preferred_version("policy") in ("policy/v1", "policy/v1beta1")
    assert kube.preferred_version("no.such.group") is None

"""Defaulting: Kubernetes' values, a new dict, idempotent."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest

from petset.api.defaults import apply_defaults
from petset.api.loader import load_documents
from petset.api.validation import validate_documents

DATA = Path(__file__).parent / "data"


def _examples() -> list[dict[str, Any]]:
    objs = []
    for name in ("web.yaml", "app.yaml", "storage.yaml", "mysql.yaml"):
        docs = load_documents((DATA / name).read_text(), name)
        objs += [v.obj for v in validate_documents(docs)]
    return objs


@pytest.mark.parametrize("obj", _examples(), ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_defaults_are_idempotent_and_do_not_touch_the_input(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    once = apply_defaults(obj)
    assert obj == before
    assert apply_defaults(once) == once


def test_statefulset_defaults() -> None:
    sts = next(o for o in _examples() if o["kind"] == "StatefulSet")
    spec = apply_defaults(sts)["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert spec["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["dnsPolicy"] == "ClusterFirst"
    container = pod["containers"][0]
    assert container["ports"][0]["protocol"] == "TCP"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert container["readinessProbe"] == {
        "tcpSocket": {"port": 8080},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert apply_defaults({"kind": "StatefulSet", "spec": {}})["spec"]["replicas"] == 1


def test_on_delete_strategy_gets_no_partition() -> None:
    sts = {"kind": "StatefulSet", "spec": {"updateStrategy": {"type": "OnDelete"}}}
    assert apply_defaults(sts)["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_deployment_defaults() -> None:
    spec = apply_defaults({"kind": "Deployment", "spec": {"template": {"spec": {}}}})["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600


def test_service_defaults_target_port_to_port() -> None:
    svc = {"kind": "Service", "spec": {"ports": [{"port": 80}, {"port": 81, "targetPort": "x"}]}}
    spec = apply_defaults(svc)["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": 80},
        {"port": 81, "targetPort": "x", "protocol": "TCP"},
    ]


def test_secret_string_data_is_merged_into_data() -> None:
    secret = {
        "kind": "Secret",
        "data": {"a": base64.b64encode(b"old").decode(), "b": "Yg=="},
        "stringData": {"a": "new"},
    }
    out = apply_defaults(secret)
    assert out["type"] == "Opaque"
    assert "stringData" not in out
    assert base64.b64decode(out["data"]["a"]) == b"new"
    assert out["data"]["b"] == "Yg=="


def test_image_pull_policy_follows_the_tag() -> None:
    def policy(image: str) -> str:
        pod = {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": image}]}}
        return str(apply_defaults(pod)["spec"]["containers"][0]["imagePullPolicy"])

    assert policy("busybox") == "Always"
    assert policy("busybox:latest") == "Always"
    assert policy("registry:5000/busybox") == "Always"
    assert policy("busybox:1.36") == "IfNotPresent"
    assert policy("busybox@sha256:abc") == "IfNotPresent"


def test_mysqlcluster_gets_the_model_defaults() -> None:
    cluster = {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "MySQLCluster",
        "metadata": {"name": "db"},
    }
    spec = apply_defaults(cluster)["spec"]
    assert spec["replicas"] == 3
    assert spec["semiSync"] is True and spec["semiSyncTimeoutMs"] == 3000
    assert spec["storage"] == {"size": "1Gi"}
    assert spec["service"]["rw"] == {"type": "ClusterIP", "port": 3306}


def test_unknown_kinds_and_configmaps_are_copied_unchanged() -> None:
    cm = {"kind": "ConfigMap", "data": {"a": "b"}}
    out = apply_defaults(cm)
    assert out == cm and out is not cm

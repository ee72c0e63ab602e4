"""Validation: every bad input is rejected with the document, the field and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from petset.api.errors import InvalidError
from petset.api.loader import Document, load_documents
from petset.api.validation import Validated, validate_documents

DATA = Path(__file__).parent / "data"


def _sts(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "serviceName": "web",
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "web", "image": "x", "command": ["/bin/sleep", "60"]}]
            },
        },
    }
    base.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": base,
    }


def _validate(*objs: dict[str, Any], local: bool = True) -> list[Validated]:
    text = "\n---\n".join(yaml.safe_dump(o) for o in objs)
    return validate_documents(load_documents(text, "web.yaml"), local=local)


def _problems(*objs: dict[str, Any], local: bool = True) -> list[str]:
    with pytest.raises(InvalidError) as caught:
        _validate(*objs, local=local)
    return caught.value.problems


@pytest.mark.parametrize("name", ["web.yaml", "app.yaml", "storage.yaml", "mysql.yaml"])
def test_example_manifests_are_valid(name: str) -> None:
    docs = load_documents((DATA / name).read_text(), name)
    validated = validate_documents(docs)
    assert len(validated) == len(docs)
    assert all(v.warnings == [] for v in validated)


def test_normalized_objects_get_a_namespace_or_lose_it() -> None:
    docs = load_documents((DATA / "storage.yaml").read_text(), "storage.yaml")
    ns, sc, pvc = (v.obj for v in validate_documents(docs, default_namespace="team"))
    assert "namespace" not in ns["metadata"] and "namespace" not in sc["metadata"]
    assert pvc["metadata"]["namespace"] == "shop"
    (cm,) = _validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert cm.obj["metadata"]["namespace"] == "default"
    assert "data" not in cm.obj  # normalized, not defaulted


def test_wrong_type_names_document_field_and_fix() -> None:
    assert _problems(_sts(replicas="three")) == [
        'web.yaml#1 (StatefulSet/web): spec.replicas: must be an integer, not "three" (a string)'
    ]
    (problem,) = _problems(_sts(replicas="3"))
    assert problem.endswith("; remove the quotes")


def test_negative_replicas_is_below_the_minimum() -> None:
    assert _problems(_sts(replicas=-1)) == [
        "web.yaml#1 (StatefulSet/web): spec.replicas: -1 is less than the minimum of 0"
    ]


def test_unknown_field_is_rejected_with_a_suggestion() -> None:
    assert _problems(_sts(replica=3)) == [
        'web.yaml#1 (StatefulSet/web): spec.replica: unknown field "replica"; '
        'did you mean "replicas"?'
    ]
    (problem,) = _problems(_sts(containers=[]))
    assert "spec.containers: unknown field" in problem
    assert "spec.template.spec.containers" in problem


def test_all_errors_of_a_document_are_reported_not_only_the_first() -> None:
    sts = _sts(replicas="x", foo=1)
    sts["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "80"}]
    problems = _problems(sts)
    assert len(problems) == 3
    assert any("spec.template.spec.containers[0].ports[0].containerPort:" in p for p in problems)


def test_missing_name() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}}
    assert _problems(obj) == [
        "web.yaml#1 (ConfigMap/?): metadata.name: required; every object needs a name"
    ]
    (problem,) = _problems({"apiVersion": "v1", "kind": "ConfigMap"})
    assert problem.startswith("web.yaml#1 (ConfigMap/?): metadata.name: required")


def test_invalid_name() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Upper_Case"}}
    (problem,) = _problems(obj)
    assert problem.startswith("web.yaml#1 (ConfigMap/Upper_Case): metadata.name: 'Upper_Case': ")
    assert "lower case alphanumeric" in problem


def test_name_rules_follow_the_kind() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "1web"},
        "spec": {"ports": [{"port": 80}]},
    }
    (problem,) = _problems(service)
    assert "metadata.name: '1web': " in problem and "start with a letter" in problem
    dotted = _sts()
    dotted["metadata"]["name"] = "web.v1"
    (problem,) = _problems(dotted)
    assert "metadata.name: 'web.v1'" in problem
    long_name = _sts()
    long_name["metadata"]["name"] = "a" * 53
    (problem,) = _problems(long_name)
    assert "no more than 52 characters for a StatefulSet" in problem


def test_bad_label_value_and_key() -> None:
    obj = _sts()
    obj["metadata"]["labels"] = {"tier": "front end", "bad key!": "x", "n": 3}
    problems = _problems(obj)
    assert len(problems) == 3
    text = "\n".join(problems)
    assert "(StatefulSet/web): metadata.labels[tier]: 'front end': a label value must be" in text
    assert "(StatefulSet/web): metadata.labels: key 'bad key!': name part must" in text
    assert "(StatefulSet/web): metadata.labels[n]: must be a string, not 3; quote it" in text


def test_annotations_over_256_kib() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "annotations": {"big": "x" * (256 * 1024)}},
    }
    (problem,) = _problems(obj)
    assert "metadata.annotations: total size" in problem and "256 KiB" in problem


def test_unknown_kind_lists_known_kinds() -> None:
    (problem,) = _problems({"apiVersion": "v1", "kind": "Frobnicator", "metadata": {"name": "a"}})
    assert problem.startswith("web.yaml#1 (Frobnicator/a): kind: unknown kind 'Frobnicator'")
    assert "StatefulSet" in problem and "MySQLCluster" in problem
    (problem,) = _problems(
        {"apiVersion": "apps/v1", "kind": "statefulset", "metadata": {"name": "a"}}
    )
    assert "did you mean StatefulSet?" in problem


def test_wrong_api_version() -> None:
    obj = _sts()
    obj["apiVersion"] = "v1"
    assert _problems(obj) == [
        "web.yaml#1 (StatefulSet/web): apiVersion: StatefulSet is served as apps/v1, "
        "not v1; change apiVersion to apps/v1"
    ]


def test_missing_container_command_is_an_error_locally_only() -> None:
    obj = _sts()
    del obj["spec"]["template"]["spec"]["containers"][0]["command"]
    obj["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": "x"}]
    problems = _problems(obj)
    assert problems[0] == (
        "web.yaml#1 (StatefulSet/web): spec.template.spec.initContainers[0].command: "
        "required by the local backend (images are not run locally; give the program to "
        'start, e.g. command: ["/usr/bin/python3", "-m", "http.server"])'
    )
    assert "spec.template.spec.containers[0].command: required by the local" in problems[1]
    assert len(_validate(obj, local=False)) == 1
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    (problem,) = _problems(pod)
    assert "(Pod/p): spec.containers[0].command: required by the local backend" in problem


def test_fields_the_local_backend_ignores_warn_once_per_field() -> None:
    obj = _sts()
    pod_spec = obj["spec"]["template"]["spec"]
    pod_spec["nodeSelector"] = {"disk": "ssd"}
    pod_spec["containers"][0]["resources"] = {"limits": {"memory": "1Gi"}}
    pod_spec["containers"].append(
        {"name": "side", "image": "x", "command": ["/bin/true"], "resources": {}}
    )
    (validated,) = _validate(obj)
    assert validated.warnings == [
        "web.yaml#1 (StatefulSet/web): spec.template.spec.nodeSelector: ignored by the "
        "local backend (there is one node)",
        "web.yaml#1 (StatefulSet/web): spec.template.spec.containers[0].resources: ignored "
        "by the local backend (there are no cgroup limits)",
    ]
    assert _validate(obj, local=False)[0].warnings == []


def test_one_bad_document_among_good_ones_rejects_all_and_names_only_it() -> None:
    good_cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    with pytest.raises(InvalidError) as caught:
        _validate(
            good_cm, _sts(replicas=-2), _sts(serviceName="web2") | {"metadata": {"name": "x"}}
        )
    assert str(caught.value).startswith("1 problem in 1 of 3 objects")
    assert caught.value.problems == [
        "web.yaml#2 (StatefulSet/web): spec.replicas: -2 is less than the minimum of 0"
    ]


def test_the_same_object_twice_in_one_input_is_an_error() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    (problem,) = _problems(cm, cm)
    assert problem.startswith("web.yaml#2 (ConfigMap/c): metadata.name: ConfigMap/default/c")
    assert "also defined in web.yaml#1" in problem


def test_api_server_rules_beyond_the_schema() -> None:
    obj = _sts(podManagementPolicy="Sometimes")
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}
    ]
    problems = _problems(obj)
    assert any('spec.podManagementPolicy: "Sometimes" is not supported' in p for p in problems)
    assert any("spec.template.metadata.labels: do not match spec.selector" in p for p in problems)
    assert any("volumeMounts[0].name: no volume named 'data'" in p for p in problems)


def test_service_and_claim_rules() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"type": "Weird", "ports": [{"port": 80}, {"port": 70000, "name": "b"}]},
    }
    problems = _problems(service)
    assert any('spec.type: "Weird" is not supported' in p for p in problems)
    assert any(
        "spec.ports[0].name: required when a Service has more than one port" in p for p in problems
    )
    assert any("spec.ports[1].port: 70000 is more than the maximum of 65535" in p for p in problems)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c"},
        "spec": {"accessModes": [], "resources": {"requests": {"storage": "lots"}}},
    }
    problems = _problems(claim)
    assert any("spec.accessModes: at least one is required" in p for p in problems)
    assert any("spec.resources.requests.storage: 'lots' is not a quantity" in p for p in problems)


def test_secret_data_must_be_base64() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "not base64!"},
    }
    (problem,) = _problems(secret)
    assert "data[password]: not valid base64; put plain text under stringData" in problem


def test_mysqlcluster_with_zero_replicas_and_an_unknown_field() -> None:
    cluster = {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "MySQLCluster",
        "metadata": {"name": "db"},
        "spec": {"replicas": 0, "semisync": True},
    }
    assert _problems(cluster) == [
        "web.yaml#1 (MySQLCluster/db): spec.replicas: 0 is less than the minimum of 1",
        'web.yaml#1 (MySQLCluster/db): spec.semisync: unknown field "semisync"; '
        'did you mean "semiSync"?',
    ]


def test_document_objects_are_not_modified() -> None:
    doc = Document(
        "x.yaml", 0, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    )
    validate_documents([doc])
    assert doc.obj == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}


def test_unsupported_kubernetes_version_is_a_clear_error() -> None:
    docs = load_documents((DATA / "app.yaml").read_text(), "app.yaml")
    with pytest.raises(InvalidError, match="older than the oldest schema"):
        validate_documents(docs, k8s_version="1.20.0")
    assert len(validate_documents(docs, k8s_version="1.31")) == 3


def test_pod_template_labels_follow_label_rules() -> None:
    obj = _sts(selector={"matchLabels": {"app": "web app"}})
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "web app"}
    (problem,) = _problems(obj)
    assert "spec.template.metadata.labels[app]: 'web app': a label value must be" in problem

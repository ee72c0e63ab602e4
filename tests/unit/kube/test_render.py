"""Every rendered manifest validates strictly against Kubernetes' own schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from petset.api.meta import Obj
from petset.kube.crds import render_crds
from petset.kube.install import InstallOptions, render_install
from petset.kube.render import RenderOptions, pdb_api_version, render_objects, render_texts

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(
    p for p in (ROOT / "examples").rglob("*") if p.suffix in (".yaml", ".yml", ".json")
)
VERSIONS = [f"1.{minor}.0" for minor in range(30, 38)]
CRD_SCHEMAS = {
    c["spec"]["names"]["kind"]: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for c in render_crds()
}


def _validate(obj: Obj, version: str) -> None:
    if str(obj["apiVersion"]).startswith("petset.dev/"):
        jsonschema.validate(obj, CRD_SCHEMAS[obj["kind"]])
    else:
        kubernetes_validate.validate(obj, version, strict=True)


def test_there_are_examples_including_a_mysqlcluster() -> None:
    assert any(p.parts[-2:] == ("mysql", "cluster.yaml") for p in EXAMPLES)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_renders_to_valid_manifests(example: Path, version: str) -> None:
    out = render_texts([(str(example), example.read_text())], RenderOptions(k8s_version=version))
    assert out.objects
    for obj in out.objects:
        _validate(obj, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_crds_and_operator_install_validate(version: str) -> None:
    for obj in [*render_crds(), *render_install(InstallOptions())]:
        _validate(obj, version)
    for obj in render_install(InstallOptions(watch_namespace="shop")):
        _validate(obj, version)


def _cluster(**spec: Any) -> Obj:
    return {"apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
            "metadata": {"name": "shop", "namespace": "prod"}, "spec": spec}  # fmt: skip


def test_mysqlcluster_renders_what_the_operator_creates_without_passwords() -> None:
    out = render_objects([_cluster(replicas=3)], RenderOptions())
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in out.objects)
    assert kinds == [
        "ConfigMap/shop-config", "PodDisruptionBudget/shop", "Service/shop",
        "Service/shop-ro", "Service/shop-rw", "StatefulSet/shop",
    ]  # fmt: skip
    assert not any("ownerReferences" in o["metadata"] for o in out.objects)
    assert any("Secret shop-credentials" in n and "not rendered" in n for n in out.notes)
    pdb = next(o for o in out.objects if o["kind"] == "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["maxUnavailable"] == 1


def test_generated_secret_only_when_asked() -> None:
    out = render_objects([_cluster()], RenderOptions(generate_secrets=True))
    secret = next(o for o in out.objects if o["kind"] == "Secret")
    values = secret["data"]
    assert set(values) >= {"admin-password", "replication-password"}
    assert len(set(values.values())) == len(values)
    kubernetes_validate.validate(secret, "1.30.0", strict=True)


def test_old_servers_get_policy_v1beta1_and_no_retention_policy() -> None:
    assert pdb_api_version("1.20.2") == "policy/v1beta1"
    assert pdb_api_version("v1.21.0") == "policy/v1"
    out = render_objects([_cluster()], RenderOptions(k8s_version="1.20.2"))
    sts = next(o for o in out.objects if o["kind"] == "StatefulSet")
    assert "persistentVolumeClaimRetentionPolicy" not in sts["spec"]


def test_local_only_things_are_dropped_or_warned_about() -> None:
    sts = yaml.safe_load((ROOT / "examples/web/web.yaml").read_text().split("---")[-1])
    sts["metadata"].update(annotations={"petset.dev/paused": "true", "keep": "me"}, uid="u1")
    sts["status"] = {"replicas": 3}
    sts["spec"]["template"]["spec"]["containers"][0]["command"][0] = "/usr/bin/python3"
    local_class = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "local"}, "provisioner": "petset.dev/local"}  # fmt: skip
    out = render_objects([sts, local_class], RenderOptions())
    assert [o["kind"] for o in out.objects] == ["StatefulSet"]
    got = out.objects[0]
    assert got["metadata"]["annotations"] == {"keep": "me"}
    assert "uid" not in got["metadata"] and "status" not in got
    text = "\n".join(out.notes)
    assert "petset.dev/paused dropped" in text and "partition" in text
    assert "/usr/bin/python3 is a host path" in text
    assert "StorageClass/local: dropped" in text
    kubernetes_validate.validate(got, "1.30.0", strict=True)


def test_crd_schema_rejects_what_petset_rejects() -> None:
    schema = CRD_SCHEMAS["MySQLCluster"]
    jsonschema.validate(_cluster(replicas=3), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_cluster(replicas=0), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_cluster(storage={"size": "lots"}), schema)


def test_crds_have_status_subresource_and_printer_columns() -> None:
    crds = {c["spec"]["names"]["kind"]: c for c in render_crds()}
    assert set(crds) == {"MySQLCluster", "Backup", "BackupSchedule"}
    version = crds["MySQLCluster"]["spec"]["versions"][0]
    assert version["subresources"]["status"] == {}
    names = [c["name"] for c in version["additionalPrinterColumns"]]
    assert names == ["Replicas", "Ready", "Primary", "Phase", "Age"]
    json.dumps(crds)  # plain data, serialisable as-is


def test_operator_rbac_is_least_privilege() -> None:
    objs = render_install(InstallOptions(namespace="ops"))
    roles = [o for o in objs if o["kind"] in ("ClusterRole", "Role")]
    for role in roles:
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"]
            assert "persistentvolumeclaims" not in rule["resources"]
    lease_roles = [r for r in roles if any("leases" in x["resources"] for x in r["rules"])]
    assert [(r["kind"], r["metadata"]["namespace"]) for r in lease_roles] == [("Role", "ops")]

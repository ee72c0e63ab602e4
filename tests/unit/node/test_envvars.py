"""The kubelet's environment rules: order, overriding, optional refs, `$(VAR)` expansion."""

from __future__ import annotations

import base64

import pytest

from petset.api.meta import Obj
from petset.node.envvars import (
    EnvError,
    container_argv,
    container_env,
    expand,
    field_value,
    process_env,
)

POD: Obj = {
    "metadata": {
        "name": "web-0",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"apps.kubernetes.io/pod-index": "0"},
        "annotations": {"note": "hi"},
    },
    "spec": {"nodeName": "local", "serviceAccountName": "sa"},
    "status": {"podIP": "127.10.0.7", "hostIP": "127.0.0.1"},
}
OBJECTS: dict[tuple[str, str], Obj] = {
    ("ConfigMap", "cfg"): {"kind": "ConfigMap", "data": {"MODE": "fast", "bad key": "x"}},
    ("Secret", "sec"): {
        "kind": "Secret",
        "data": {"PASSWORD": base64.b64encode(b"s3cret").decode()},
    },
}


def lookup(kind: str, name: str) -> Obj | None:
    return OBJECTS.get((kind, name))


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("$(A)", "1"),
        ("x$(A)y$(B)z", "x1y2z"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$1"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(A", "$(A"),
        ("$A", "$A"),
        ("trailing$", "trailing$"),
        ("$", "$"),
        ("$()", "$()"),
        ("a$$b", "a$b"),
    ],
)
def test_expand_matches_kubernetes(text: str, want: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == want


def test_field_refs() -> None:
    assert field_value(POD, "metadata.name") == "web-0"
    assert field_value(POD, "metadata.namespace") == "shop"
    assert field_value(POD, "metadata.uid") == "u-1"
    assert field_value(POD, "metadata.labels['apps.kubernetes.io/pod-index']") == "0"
    assert field_value(POD, "metadata.annotations['note']") == "hi"
    assert field_value(POD, "spec.nodeName") == "local"
    assert field_value(POD, "spec.serviceAccountName") == "sa"
    assert field_value(POD, "status.podIP") == "127.10.0.7"
    assert field_value(POD, "status.hostIP") == "127.0.0.1"
    with pytest.raises(EnvError):
        field_value(POD, "spec.nope")


def test_env_order_and_dependent_expansion() -> None:
    container = {
        "name": "c",
        "env": [
            {"name": "A", "value": "a"},
            {"name": "B", "value": "$(A)-$(C)"},  # C is defined later: left as-is
            {"name": "C", "value": "c"},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "RAW", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "MODE"}}},
            {"name": "A", "value": "again-$(A)"},
        ],
    }
    env = container_env(POD, container, lookup)
    assert env == {"A": "again-a", "B": "a-$(C)", "C": "c", "IP": "127.10.0.7", "RAW": "fast"}


def test_env_from_prefix_then_env_overrides() -> None:
    container = {
        "name": "c",
        "envFrom": [
            {"configMapRef": {"name": "cfg"}, "prefix": "CFG_"},
            {"secretRef": {"name": "sec"}},
        ],
        "env": [{"name": "CFG_MODE", "value": "slow"}],
    }
    env = container_env(POD, container, lookup)
    assert env == {"CFG_MODE": "slow", "PASSWORD": "s3cret"}  # "CFG_bad key" is skipped


def test_secret_key_ref_is_decoded() -> None:
    container = {
        "name": "c",
        "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PASSWORD"}}}],
    }
    assert container_env(POD, container, lookup) == {"P": "s3cret"}


def test_optional_references() -> None:
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}],
        "env": [
            {
                "name": "X",
                "valueFrom": {
                    "configMapKeyRef": {"name": "cfg", "key": "absent", "optional": True}
                },
            },
            {
                "name": "Y",
                "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
            },
        ],
    }
    assert container_env(POD, container, lookup) == {}
    with pytest.raises(EnvError, match="not found"):
        container_env(
            POD,
            {
                "name": "c",
                "env": [
                    {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}
                ],
            },
            lookup,
        )
    with pytest.raises(EnvError, match="couldn't find key absent"):
        container_env(
            POD,
            {
                "name": "c",
                "env": [
                    {
                        "name": "X",
                        "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "absent"}},
                    }
                ],
            },
            lookup,
        )


def test_process_env_defaults_and_argv_expansion() -> None:
    container = {
        "name": "c",
        "command": ["serve", "--bind=$(POD_IP)"],
        "args": ["$(HOSTNAME)", "$$(HOSTNAME)", "$(UNSET)"],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
    }
    env = process_env(POD, container, lookup)
    assert env["HOSTNAME"] == "web-0" and env["PATH"].startswith("/usr/local/sbin")
    assert container_argv(container, env) == [
        "serve",
        "--bind=127.10.0.7",
        "web-0",
        "$(HOSTNAME)",
        "$(UNSET)",
    ]
    with pytest.raises(EnvError):
        container_argv({"name": "empty"}, env)

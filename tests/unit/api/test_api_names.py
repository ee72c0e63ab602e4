"""Kubernetes' name rules."""

from __future__ import annotations

from petset.api import names


def test_dns_labels_and_subdomains() -> None:
    assert names.dns1123_label("web-0") == []
    assert names.dns1123_label("Web") != []
    assert names.dns1123_label("-web") != []
    assert names.dns1123_label("a" * 64) != []
    assert names.dns1123_subdomain("example.com") == []
    assert names.dns1123_subdomain("a..b") != []
    assert names.dns1035_label("1abc") != []
    assert names.dns1035_label("abc-1") == []


def test_validate_name_per_kind() -> None:
    assert names.validate_name("ConfigMap", "app.config") == []
    assert names.validate_name("Namespace", "app.config") != []
    assert names.validate_name("Service", "9lives") != []
    assert names.validate_name("StatefulSet", "web") == []
    assert names.validate_name("MySQLCluster", "a" * 41) != []
    assert names.validate_name("Pod", "") == ["required"]


def test_label_keys_and_values() -> None:
    assert names.validate_labels({"app.kubernetes.io/name": "web", "tier": ""}) == []
    assert names.validate_labels({"/x": "a"}) == [
        "metadata.labels: key '/x': prefix part must be non-empty"
    ]
    assert names.validate_labels({"x": "a" * 64})[0].startswith("metadata.labels[x]: ")
    assert names.validate_labels(["a"]) == [
        "metadata.labels: must be a map of string keys to string values"
    ]


def test_annotation_keys_are_case_insensitive_qualified_names() -> None:
    assert names.validate_annotations({"Example.COM/Key": "anything at all: {}"}) == []
    assert names.validate_annotations({"bad key": "x"}) != []


def test_config_keys() -> None:
    assert names.config_key("app.properties") == []
    assert names.config_key("a/b") != []
    assert names.config_key("..") != []

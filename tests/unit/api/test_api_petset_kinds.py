"""petset's own kinds: typed parsing, errors as field paths, CRD schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from petset.api.errors import InvalidError
from petset.api.petset_kinds import (
    MODELS,
    json_schema,
    parse_mysqlcluster,
    validate_petset_kind,
)
from petset.api.units import parse_duration, parse_quantity


def _obj(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "db"},
        "spec": spec,
    }


def test_parse_mysqlcluster_fills_defaults_and_keeps_given_values() -> None:
    cluster = parse_mysqlcluster(
        _obj("MySQLCluster", {"replicas": 5, "config": {"max_connections": 500}})
    )
    assert cluster.spec.replicas == 5
    assert cluster.spec.config == {"max_connections": 500}
    assert cluster.spec.semi_sync is True
    assert cluster.spec.semi_sync_timeout_ms == 3000
    assert cluster.spec.storage.size == "1Gi"
    assert cluster.spec.service.rw.port == 3306
    assert cluster.spec.bootstrap is None


def test_parse_mysqlcluster_lists_every_problem() -> None:
    spec = {
        "replicas": 10,
        "storage": {"size": "lots"},
        "service": {"ro": {"type": "NodePort", "port": "3307"}},
        "config": {"sql_mode": ["STRICT"]},
        "bootstrap": {"fromBackup": {}},
    }
    with pytest.raises(InvalidError) as caught:
        parse_mysqlcluster(_obj("MySQLCluster", spec))
    assert str(caught.value).startswith("MySQLCluster/db is invalid")
    assert sorted(caught.value.problems) == sorted(
        [
            "spec.replicas: 10 is more than the maximum of 9",
            "spec.storage.size: 'lots' is not a quantity; write a number with an optional "
            "suffix such as 1Gi, 512Mi, 10G or 500m",
            "spec.config.sql_mode: must be a string, a number or a boolean",
            "spec.service.ro.type: \"NodePort\" is not supported; use one of: 'ClusterIP' "
            "or 'None'",
            'spec.service.ro.port: must be an integer, not "3307"',
            "spec.bootstrap.fromBackup.name: required field is missing",
        ]
    )


def test_backup_schedule_checks_cron_and_duration() -> None:
    good = _obj("BackupSchedule", {"cluster": "db", "schedule": "*/15 * * * *", "maxAge": "1h30m"})
    assert validate_petset_kind(good) == []
    bad = _obj("BackupSchedule", {"cluster": "", "schedule": "every day", "maxAge": "a week"})
    problems = validate_petset_kind(bad)
    assert problems[0] == "spec.cluster: must not be empty"
    assert problems[1].startswith("spec.schedule: 'every day' is not a cron schedule")
    assert problems[2].startswith("spec.maxAge: 'a week' is not a duration")


def test_restore_from_a_store_url_names_the_field_when_the_url_is_not_a_directory() -> None:
    def problems(url: str) -> list[str]:
        spec = {"bootstrap": {"fromBackup": {"name": "b1", "store": url}}}
        return validate_petset_kind(_obj("MySQLCluster", spec))

    assert problems("file:///srv/petset-backups") == []
    for url in ("s3://bucket/x", "file://elsewhere/srv", "file://relative", "file:///a/../b"):
        (only,) = problems(url)
        assert only.startswith(f"spec.bootstrap.fromBackup.store: {url!r} is not a supported")
        assert "file:///absolute/path" in only


def test_backup_needs_a_spec() -> None:
    problems = validate_petset_kind({"apiVersion": "petset.dev/v1alpha1", "kind": "Backup"})
    assert problems == ["spec: required field is missing"]


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [d for n in node for d in _walk(n)]
    if not isinstance(node, dict):
        return []
    return [node] + [d for v in node.values() for d in _walk(v)]


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_json_schema_is_structural(kind: str) -> None:
    schema = json_schema(kind)
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}
    for node in _walk(schema):
        assert "$ref" not in node and "$defs" not in node and "title" not in node
        assert "additionalProperties" not in node or node.get("properties") is None
        if "properties" in node:
            assert node["type"] == "object"


def test_mysqlcluster_schema_carries_defaults_and_bounds() -> None:
    spec = json_schema("MySQLCluster")["properties"]["spec"]["properties"]
    assert spec["replicas"] == {
        "default": 3,
        "description": "Members: one primary, the rest replicas.",
        "maximum": 9,
        "minimum": 1,
        "type": "integer",
    }
    assert spec["config"]["x-kubernetes-preserve-unknown-fields"] is True
    assert spec["service"]["properties"]["rw"]["properties"]["type"]["enum"] == [
        "ClusterIP",
        "None",
    ]
    assert "required" not in json_schema("MySQLCluster")
    assert json_schema("Backup")["required"] == ["spec"]


def test_quantities_and_durations() -> None:
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("500m") == Decimal("0.5")
    assert parse_quantity("1e3") == 1000
    assert parse_quantity("10G") == 10**10
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity("1 GB")
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("7d") == 7 * 86400
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("7 days")

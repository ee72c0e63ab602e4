"""API server responses map to petset's errors; kinds map to API paths."""

from __future__ import annotations

import json

import pytest

from petset.api.errors import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from petset.api.kinds import UnknownKindError
from petset.kube.client import error_for
from petset.kube.resources import resource_for


def _status(code: int, reason: str, message: str = "m", **details: object) -> bytes:
    return json.dumps({"kind": "Status", "code": code, "reason": reason, "message": message,
                       "details": details}).encode()  # fmt: skip


@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (404, "NotFound", NotFoundError),
        (409, "AlreadyExists", AlreadyExistsError),
        (409, "Conflict", ConflictError),
        (410, "Expired", GoneError),
        (422, "Invalid", InvalidError),
        (503, "ServiceUnavailable", UnavailableError),
        (500, "InternalError", UnavailableError),
    ],
)
def test_status_codes_map_to_petset_errors(code: int, reason: str, error: type) -> None:
    assert type(error_for(code, _status(code, reason), "GET /x")) is error


def test_invalid_lists_the_causes() -> None:
    body = _status(422, "Invalid", "bad", causes=[{"field": "spec.replicas", "message": "< 0"}])
    err = error_for(422, body, "POST /x")
    assert isinstance(err, InvalidError) and err.problems == ["spec.replicas: < 0"]


def test_paths_for_core_group_and_cluster_scoped_kinds() -> None:
    assert resource_for("Pod").object_path("p", "ns") == "/api/v1/namespaces/ns/pods/p"
    assert resource_for("StatefulSet").collection_path(None) == "/apis/apps/v1/statefulsets"
    mysql = resource_for("MySQLCluster")
    assert mysql.object_path("shop", "prod") == (
        "/apis/petset.dev/v1alpha1/namespaces/prod/mysqlclusters/shop"
    )
    crd = resource_for("CustomResourceDefinition")
    assert crd.object_path("x", "ignored") == (
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x"
    )
    old = resource_for("PodDisruptionBudget", "policy/v1beta1")
    assert old.collection_path("a") == "/apis/policy/v1beta1/namespaces/a/poddisruptionbudgets"
    with pytest.raises(UnknownKindError):
        resource_for("Gizmo")

"""CustomResourceDefinitions for petset's kinds, from the same pydantic models
that validate input locally (`petset.api.petset_kinds.json_schema`). Pure."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

from petset.api.kinds import KINDS, PETSET_GROUP, PETSET_VERSION, KindInfo
from petset.api.meta import Obj
from petset.api.petset_kinds import MODELS, json_schema

_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}

PRINTER_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "MySQLCluster": [
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Ready", "type": "integer", "jsonPath": ".status.readyMembers"},
        {"name": "Primary", "type": "string", "jsonPath": ".status.primary"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        _AGE,
    ],
    "Backup": [
        {"name": "Cluster", "type": "string", "jsonPath": ".spec.cluster"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        _AGE,
    ],
    "BackupSchedule": [
        {"name": "Cluster", "type": "string", "jsonPath": ".spec.cluster"},
        {"name": "Schedule", "type": "string", "jsonPath": ".spec.schedule"},
        {"name": "Suspend", "type": "boolean", "jsonPath": ".spec.suspend"},
        {"name": "Last", "type": "date", "jsonPath": ".status.lastScheduleTime"},
        _AGE,
    ],
}


def with_object_defaults(schema: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """`default: {}` on the objects the model builds with a default_factory, so the API
    server fills their nested defaults as the model does, not only when the user wrote
    the enclosing object. Optional objects (default None) stay absent."""
    props = schema.get("properties") or {}
    for name, field in model.model_fields.items():
        sub = props.get(field.alias or name)
        nested = next((t for t in (field.annotation, *get_args(field.annotation))
                       if isinstance(t, type) and issubclass(t, BaseModel)), None)  # fmt: skip
        if sub is None or nested is None:
            continue
        with_object_defaults(sub, nested)
        if field.default_factory is not None:
            sub.setdefault("default", {})
    return schema


def petset_kinds() -> list[KindInfo]:
    return [k for k in KINDS if not k.builtin]


def crd_name(info: KindInfo) -> str:
    return f"{info.plural}.{PETSET_GROUP}"


def _schema(kind: str) -> dict[str, Any]:
    schema = with_object_defaults(json_schema(kind), MODELS[kind])
    if kind == "MySQLCluster":  # a MySQLCluster with no spec takes every default
        schema["properties"]["spec"].setdefault("default", {})
    return schema


def render_crd(info: KindInfo) -> Obj:
    subresources: dict[str, Any] = {"status": {}}
    if info.kind == "MySQLCluster":  # kubectl scale mysqlcluster/NAME --replicas=N
        subresources["scale"] = {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.readyMembers",
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name(info), "labels": {"app.kubernetes.io/part-of": "petset"}},
        "spec": {
            "group": PETSET_GROUP,
            "scope": "Namespaced" if info.namespaced else "Cluster",
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": ["petset"],
            },
            "versions": [
                {
                    "name": PETSET_VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": _schema(info.kind)},
                    "subresources": subresources,
                    "additionalPrinterColumns": PRINTER_COLUMNS.get(info.kind, [_AGE]),
                }
            ],
        },
    }


def render_crds() -> list[Obj]:
    return [render_crd(k) for k in petset_kinds()]

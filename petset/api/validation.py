"""Check every document of an input before anything is applied: all or nothing.

For each document: apiVersion and kind against the registry, metadata against
Kubernetes' name rules, then the body against Kubernetes' published schema and
the API server's own rules (built-in kinds) or petset's models (petset.dev
kinds), then what the local backend needs. Every problem is collected, each as
"<where>: <field.path>: <reason>", and one InvalidError carries them all.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

from petset.api import kinds, names
from petset.api.errors import InvalidError
from petset.api.k8s_rules import rule_problems
from petset.api.k8s_schema import check_version, schema_problems, short
from petset.api.loader import Document
from petset.api.local_support import local_problems, local_warnings
from petset.api.meta import Obj, ObjectKey

# Checked by names.py with Kubernetes' own wording; the schema's type errors
# for these would say the same thing twice.
_METADATA_MAPS = ("metadata.labels", "metadata.annotations")


@dataclass(frozen=True)
class Validated:
    """A document that passed: its object normalized (not defaulted) and its warnings."""

    doc: Document
    obj: Obj
    warnings: list[str] = field(default_factory=list)


def _kind_problems(obj: Obj) -> tuple[kinds.KindInfo | None, list[str]]:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if not kind or not isinstance(kind, str):
        return None, ["kind: required, e.g. kind: StatefulSet"]
    try:
        info = kinds.kind_info(kind)
    except kinds.UnknownKindError:
        return None, [f"kind: {_unknown_kind(kind)}"]
    if not api_version:
        return info, [f"apiVersion: required; {kind} is served as {info.api_version}"]
    if api_version != info.api_version:
        return info, [
            f"apiVersion: {kind} is served as {info.api_version}, not {api_version}; "
            f"change apiVersion to {info.api_version}"
        ]
    return info, []


def _unknown_kind(kind: str) -> str:
    known = sorted(k.kind for k in kinds.KINDS)
    try:
        alias = kinds.resolve_kind(kind)
        return f"unknown kind {kind!r}; did you mean {alias.kind}? (kinds are case-sensitive)"
    except kinds.UnknownKindError:
        pass
    close = difflib.get_close_matches(kind, known, n=1, cutoff=0.7)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown kind {kind!r}; {hint}known kinds: {', '.join(known)}"


def _metadata_problems(obj: Obj, kind: str) -> list[str]:
    metadata = obj.get("metadata")
    if metadata is None:
        return ["metadata.name: required; every object needs a name (metadata: {name: ...})"]
    if not isinstance(metadata, dict):
        return [f"metadata: must be a mapping with a name, not {short(metadata)}"]
    out: list[str] = []
    name = metadata.get("name")
    if name is None or name == "":
        out.append("metadata.name: required; every object needs a name")
    elif not isinstance(name, str):
        out.append(f"metadata.name: must be a string, not {short(name)}; quote it")
    else:
        out += [f"metadata.name: {r}" for r in names.validate_name(kind, name)]
    namespace = metadata.get("namespace")
    if namespace is not None:
        if not isinstance(namespace, str):
            out.append(f"metadata.namespace: must be a string, not {short(namespace)}")
        else:
            out += [f"metadata.namespace: {r}" for r in names.validate_namespace_name(namespace)]
    if metadata.get("labels") is not None:
        out += names.validate_labels(metadata["labels"])
    if metadata.get("annotations") is not None:
        out += names.validate_annotations(metadata["annotations"])
    return out


def _body_problems(
    obj: Obj, info: kinds.KindInfo, k8s_version: str, reported: list[str]
) -> list[str]:
    """Schema and API-server rule problems, minus fields `reported` already names."""
    if info.builtin:
        found = schema_problems(obj, k8s_version=k8s_version)
        found += [p for p in rule_problems(obj) if p not in found]
    else:
        # pydantic models take ~0.2 s to build: only pay for them when input has petset kinds
        from petset.api.petset_kinds import validate_petset_kind

        found = validate_petset_kind(obj)
    paths = {p.split(": ", 1)[0] for p in reported}
    return [
        p for p in found if p.split(": ", 1)[0] not in paths and not p.startswith(_METADATA_MAPS)
    ]


def normalize(obj: Obj, info: kinds.KindInfo, default_namespace: str) -> Obj:
    """A copy with registry apiVersion/kind and the namespace set (or removed)."""
    out = copy.deepcopy(obj)
    out["apiVersion"], out["kind"] = info.api_version, info.kind
    metadata: dict[str, Any] = out.setdefault("metadata", {})
    if info.namespaced:
        metadata["namespace"] = metadata.get("namespace") or default_namespace
    else:
        metadata.pop("namespace", None)
    return out


def _check(
    doc: Document, *, k8s_version: str, default_namespace: str, local: bool
) -> tuple[Obj | None, list[str], list[str]]:
    """(normalized object or None, problems, warnings) for one document."""
    info, problems = _kind_problems(doc.obj)
    problems += _metadata_problems(doc.obj, info.kind if info else "")
    if info is None or (problems[:1] and problems[0].startswith("apiVersion")):
        return None, problems, []
    problems += _body_problems(doc.obj, info, k8s_version, problems)
    warnings: list[str] = []
    if local:
        problems += local_problems(doc.obj)
        warnings = local_warnings(doc.obj)
    if problems:
        return None, problems, warnings
    return normalize(doc.obj, info, default_namespace), [], warnings


def validate_documents(
    docs: list[Document],
    *,
    k8s_version: str = "1.33.0",
    default_namespace: str = "default",
    local: bool = True,
) -> list[Validated]:
    """Validate every document; one InvalidError lists every problem of every document."""
    unsupported = check_version(k8s_version)
    if unsupported:
        raise InvalidError(f"cannot validate for Kubernetes {k8s_version}: {unsupported}")
    problems: list[str] = []
    bad_docs = 0
    out: list[Validated] = []
    first_seen: dict[ObjectKey, Document] = {}
    for doc in docs:
        obj, found, warnings = _check(
            doc, k8s_version=k8s_version, default_namespace=default_namespace, local=local
        )
        if obj is not None:
            key = ObjectKey.of(obj)
            if key in first_seen:
                found = [f"metadata.name: {key} is also defined in {first_seen[key].where()}"]
            first_seen.setdefault(key, doc)
        if found or obj is None:
            bad_docs += 1
            problems += [f"{doc.where()}: {p}" for p in found]
            continue
        out.append(Validated(doc, obj, [f"{doc.where()}: {w}" for w in warnings]))
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise InvalidError(
            f"{len(problems)} {noun} in {bad_docs} of {len(docs)} objects; nothing was accepted",
            problems,
        )
    return out

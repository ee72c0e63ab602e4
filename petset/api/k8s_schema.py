"""Check built-in kinds against Kubernetes' published schemas (via kubernetes-validate).

kubernetes-validate ships the OpenAPI schemas of Kubernetes 1.25 onwards as
JSON Schema; its `validate()` stops at the first error, so this module builds
the same validator once per (version, kind) and collects every error, turned
into Kubernetes-style "field.path: reason" lines. The package is imported
lazily: loading it and the schemas costs a few hundred milliseconds that
`petset version` should not pay.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from petset.api.meta import Obj

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "object": "a mapping (key: value)",
    "array": "a list",
}
_PY_TYPE_WORDS = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "a mapping",
    list: "a list",
}


def field_path(parts: Iterable[str | int]) -> str:
    """Kubernetes' field path: `spec.template.spec.containers[0].command`, `labels[a/b]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part}]"
    return out


def short(value: Any) -> str:
    """A value as the user wrote it, cut to a readable length."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 50 else text[:47] + "..."


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def check_version(k8s_version: str) -> str | None:
    """Why petset cannot validate for this Kubernetes version, or None when it can."""
    try:
        _schema_dir(k8s_version)
    except ValueError as err:
        return str(err)
    return None


@functools.lru_cache(maxsize=8)
def _schema_dir(k8s_version: str) -> str:
    """The newest bundled schema set not newer than the requested Kubernetes version."""
    from kubernetes_validate import utils

    wanted = _version_key(k8s_version.lstrip("v"))[:2]
    if len(wanted) < 2:
        raise ValueError(f"{k8s_version!r} is not a Kubernetes version; write e.g. 1.33.0")
    candidates = [v for v in utils.all_versions() if _version_key(v)[:2] <= wanted]
    if not candidates:
        oldest = utils.all_versions()[0]
        raise ValueError(f"Kubernetes {k8s_version} is older than the oldest schema ({oldest})")
    return f"v{candidates[-1]}-local-strict"


@functools.lru_cache(maxsize=4)
def _definitions(schema_dir: str) -> Any:
    from kubernetes_validate import utils

    return utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", "")


@functools.lru_cache(maxsize=64)
def _validator(k8s_version: str, kind: str, api_version: str) -> Any:
    """A Draft 2020-12 validator for one kind, with the shared definitions registered."""
    import jsonschema  # type: ignore[import-untyped]
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    schema_dir = _schema_dir(k8s_version)
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    name = f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json"
    schema = utils.schema_contents(name, k8s_version)
    registry: Any = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(_definitions(schema_dir)) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def schema_problems(obj: Obj, *, k8s_version: str) -> list[str]:
    """Every schema error of a built-in object as 'field.path: reason' (sorted by path)."""
    kind, api_version = str(obj["kind"]), str(obj["apiVersion"])
    try:
        validator = _validator(k8s_version, kind, api_version)
    except FileNotFoundError:
        return [f"kind: Kubernetes {k8s_version} publishes no schema for {api_version} {kind}"]
    problems: list[tuple[str, str]] = []
    for error in validator.iter_errors(obj):
        problems += _describe(error, list(error.absolute_path))
    seen: set[str] = set()
    out = []
    for path, reason in sorted(problems, key=lambda p: _sort_key(p[0])):
        line = f"{path or '(object)'}: {reason}"
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


def _sort_key(path: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p]


def _describe(error: Any, parts: list[str | int]) -> list[tuple[str, str]]:
    """(path, reason) pairs for one jsonschema error; one error may name several fields."""
    validator = error.validator
    value = error.instance
    if validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = [k for k in value if k not in (error.schema.get("properties") or {})]
        return [(field_path([*parts, k]), _unknown_field(k, allowed)) for k in extra]
    if validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else error.message
        return [(field_path([*parts, name]), "required field is missing")]
    if validator == "type":
        return [(field_path(parts), _wrong_type(value, error.validator_value))]
    if validator in ("oneOf", "anyOf"):
        return [(field_path(parts), _wrong_alternatives(value, error))]
    if validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value if o is not None)
        return [(field_path(parts), f"{short(value)} is not supported; use one of: {options}")]
    return [(field_path(parts), error.message)]


def _unknown_field(name: str, allowed: Sequence[str]) -> str:
    reason = f'unknown field "{name}"'
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.75)
    if not close:
        lowered = {a.lower(): a for a in allowed}
        hit = lowered.get(name.lower().replace("_", "").replace("-", ""))
        close = [hit] if hit else []
    if close:
        reason += f'; did you mean "{close[0]}"?'
    elif name == "containers":
        reason += "; containers belong in the pod template: spec.template.spec.containers"
    return reason


def _type_words(types: Any) -> str:
    names = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in names)


def _wrong_type(value: Any, types: Any) -> str:
    got = _PY_TYPE_WORDS.get(type(value), type(value).__name__)
    reason = f"must be {_type_words(types)}, not {short(value)} ({got})"
    wants = [types] if isinstance(types, str) else list(types)
    if isinstance(value, str) and _looks_like(value, wants):
        reason += "; remove the quotes"
    elif not isinstance(value, str) and "string" in wants and not isinstance(value, dict | list):
        reason += "; quote it"
    return reason


def _looks_like(text: str, wants: list[str]) -> bool:
    """Would the quoted value be valid unquoted? ("3" for an integer, "true" for a boolean)."""
    if "boolean" in wants and text in ("true", "false"):
        return True
    if "integer" in wants and re.fullmatch(r"[-+]?\d+", text.strip()):
        return True
    number = re.fullmatch(r"[-+]?\d+(\.\d*)?([eE][-+]?\d+)?", text.strip())
    return "number" in wants and number is not None


def _wrong_alternatives(value: Any, error: Any) -> str:
    types: list[str] = []
    for sub in error.validator_value:
        t = sub.get("type") if isinstance(sub, dict) else None
        if t:
            types += [t] if isinstance(t, str) else [x for x in t if x != "null"]
    if types:
        got = _PY_TYPE_WORDS.get(type(value), type(value).__name__)
        return f"must be {_type_words(types)}, not {short(value)} ({got})"
    return f"{short(value)} does not match any allowed form"

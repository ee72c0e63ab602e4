"""Container environment and `$(VAR)` expansion, exactly as the kubelet does it.

Pure: ConfigMaps and Secrets come through a lookup callable, so the rules
(order, overriding, optional references, `$$` escapes) are unit-testable.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from petset.api.meta import Obj

# (kind, name) -> object in the pod's namespace, or None when it does not exist.
Lookup = Callable[[str, str], Obj | None]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_FIELD_INDEX = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


class EnvError(Exception):
    """The environment cannot be built yet (kubelet: CreateContainerConfigError)."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' expansion.Expand: `$(NAME)` -> value, `$$` -> `$`, unknown left as-is."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable(text[cursor + 1 :])
            if is_var:
                out.append(env.get(read, f"$({read})"))
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _read_variable(rest: str) -> tuple[str, bool, int]:
    if rest[0] == "$":
        return "$", False, 1
    if rest[0] == "(":
        close = rest.find(")", 1)
        if close >= 1:
            return rest[1:close], True, close + 1
        return "$(", False, 1
    return "$" + rest[0], False, 1


def field_value(pod: Obj, path: str) -> str:
    """The downward API's fieldRef.fieldPath."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    simple: dict[str, Any] = {
        "metadata.name": md.get("name"),
        "metadata.namespace": md.get("namespace") or "default",
        "metadata.uid": md.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP"),
        "status.hostIPs": ",".join(i.get("ip", "") for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
    }
    if path in simple:
        return str(simple[path] or "")
    m = _FIELD_INDEX.match(path)
    if m:
        return str((md.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = sorted((md.get(path.split(".")[1]) or {}).items())
        return "\n".join(f'{k}="{v}"' for k, v in items)
    raise EnvError(f"fieldRef.fieldPath {path!r} is not supported")


def _data_of(obj: Obj) -> dict[str, str]:
    """ConfigMap data, or a Secret's data (base64-decoded) and stringData."""
    if obj.get("kind") == "Secret":
        out = {
            k: base64.b64decode(v).decode("utf-8", "replace")
            for k, v in (obj.get("data") or {}).items()
        }
        out.update(obj.get("stringData") or {})
        return out
    return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


def _key_ref(ref: dict[str, Any], kind: str, lookup: Lookup) -> str | None:
    obj = lookup(kind, str(ref.get("name", "")))
    optional = bool(ref.get("optional"))
    key = str(ref.get("key", ""))
    if obj is None:
        if optional:
            return None
        raise EnvError(f'{kind.lower()} "{ref.get("name")}" not found')
    data = _data_of(obj)
    if key not in data:
        if optional:
            return None
        raise EnvError(f"couldn't find key {key} in {kind} {ref.get('name')}")
    return data[key]


def _value_from(source: dict[str, Any], pod: Obj, lookup: Lookup) -> str | None:
    if "fieldRef" in source:
        return field_value(pod, str(source["fieldRef"].get("fieldPath", "")))
    if "configMapKeyRef" in source:
        return _key_ref(source["configMapKeyRef"], "ConfigMap", lookup)
    if "secretKeyRef" in source:
        return _key_ref(source["secretKeyRef"], "Secret", lookup)
    if "resourceFieldRef" in source:
        raise EnvError("resourceFieldRef is not supported by the local node")
    raise EnvError(f"unsupported valueFrom {sorted(source)}")


def _env_from(container: Obj, lookup: Lookup) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix", ""))
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else ("Secret", source.get("secretRef") or {})
        )
        obj = lookup(kind, str(ref.get("name", "")))
        if obj is None:
            if ref.get("optional"):
                continue
            raise EnvError(f'{kind.lower()} "{ref.get("name")}" not found')
        for key, value in _data_of(obj).items():
            if _ENV_NAME.match(prefix + key):  # the kubelet skips invalid names
                env[prefix + key] = value
    return env


def container_env(pod: Obj, container: Obj, lookup: Lookup) -> dict[str, str]:
    """The environment the kubelet gives `container`: envFrom, then env in order,
    each `value` expanded against what came before it (valueFrom is not expanded)."""
    env = _env_from(container, lookup)
    for var in container.get("env") or []:
        name = str(var["name"])
        if "valueFrom" in var:
            value = _value_from(var["valueFrom"], pod, lookup)
            if value is None:
                continue
            env[name] = value
        else:
            env[name] = expand(str(var.get("value", "")), env)
    return env


def process_env(pod: Obj, container: Obj, lookup: Lookup) -> dict[str, str]:
    """What the process sees: runtime defaults (PATH, HOME, HOSTNAME) under the spec's env."""
    base = {
        "PATH": DEFAULT_PATH,
        "HOME": "/root",
        "HOSTNAME": str(
            (pod.get("spec") or {}).get("hostname") or (pod.get("metadata") or {}).get("name", "")
        ),
    }
    base.update(container_env(pod, container, lookup))
    return base


def container_argv(container: Obj, env: Mapping[str, str]) -> list[str]:
    """command + args with `$(VAR)` expanded; with no command, args go to a shell-less exec.

    There are no images locally, so a container without `command` runs its args
    directly (the image's ENTRYPOINT does not exist).
    """
    command = [expand(str(c), env) for c in container.get("command") or []]
    args = [expand(str(a), env) for a in container.get("args") or []]
    argv = command + args
    if not argv:
        raise EnvError(f"container {container.get('name')!r} has neither command nor args")
    return argv

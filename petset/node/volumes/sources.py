"""What the files of configMap, secret, downwardAPI and projected volumes contain.

Each function returns a payload (relative path -> bytes and mode) for the
atomic writer, from objects already read from the cluster; a missing source
that is not `optional` raises VolumeNotReady, as the kubelet reports it.

File modes: ConfigMap and downward API files default to 0644 as in Kubernetes;
Secret files default to 0600 (petset is stricter than Kubernetes' 0644 here, as
the project asked). A volume's `defaultMode` and an item's `mode` override both.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
from collections.abc import Callable
from typing import Any

from petset.api.meta import Obj, annotations_of, labels_of, name_of, namespace_of, uid_of
from petset.controllers.volumes.quantity import QuantityError, parse_quantity
from petset.node.volumes.atomic import FileProjection
from petset.runtime.controller import TemporaryError

CONFIG_MODE = 0o644
SECRET_MODE = 0o600
DOWNWARD_MODE = 0o644

# Reads a ConfigMap or Secret (kind, namespace, name); None when it does not exist.
Lookup = Callable[[str, str, str], Obj | None]
Payload = dict[str, FileProjection]


class VolumeNotReady(TemporaryError):
    """A volume cannot be made yet (unbound claim, missing ConfigMap): the pod waits.

    The kubelet shows the pod as ContainerCreating with `reason` and retries.
    """

    def __init__(self, reason: str, delay: float = 2.0) -> None:
        super().__init__(reason, delay)
        self.reason = reason


def config_map_data(cm: Obj) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return out


def secret_data(secret: Obj) -> dict[str, bytes]:
    out = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    # stringData is write-only in Kubernetes (merged into data); honour it if a store kept it.
    out.update({k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()})
    return out


def keyed_payload(
    kind: str,
    name: str,
    data: dict[str, bytes] | None,
    *,
    items: list[dict[str, Any]] | None,
    mode: int,
    optional: bool,
) -> Payload:
    """Files for a ConfigMap/Secret: every key, or only `items` at their `path`."""
    if data is None:
        if optional:
            return {}
        raise VolumeNotReady(f'{kind.lower()} "{name}" not found')
    if not items:
        return {k: FileProjection(v, mode) for k, v in data.items()}
    out: Payload = {}
    for item in items:
        key = str(item["key"])
        if key not in data:
            if optional:
                continue
            raise VolumeNotReady(f'{kind.lower()} "{name}": key "{key}" not found')
        out[str(item.get("path") or key)] = FileProjection(data[key], int(item.get("mode", mode)))
    return out


def config_map_payload(
    source: dict[str, Any], namespace: str, lookup: Lookup, *, mode: int | None = None
) -> Payload:
    name = str(source.get("name") or "")
    cm = lookup("ConfigMap", namespace, name)
    return keyed_payload(
        "ConfigMap",
        name,
        None if cm is None else config_map_data(cm),
        items=source.get("items"),
        mode=int(source.get("defaultMode", mode if mode is not None else CONFIG_MODE)),
        optional=bool(source.get("optional")),
    )


def secret_payload(
    source: dict[str, Any], namespace: str, lookup: Lookup, *, mode: int | None = None
) -> Payload:
    # A secret volume names it secretName; a projected secret source names it name.
    name = str(source.get("secretName") or source.get("name") or "")
    secret = lookup("Secret", namespace, name)
    return keyed_payload(
        "Secret",
        name,
        None if secret is None else secret_data(secret),
        items=source.get("items"),
        mode=int(source.get("defaultMode", mode if mode is not None else SECRET_MODE)),
        optional=bool(source.get("optional")),
    )


def downward_payload(source: dict[str, Any], pod: Obj, *, mode: int | None = None) -> Payload:
    default = int(source.get("defaultMode", mode if mode is not None else DOWNWARD_MODE))
    out: Payload = {}
    for item in source.get("items") or []:
        if "fieldRef" in item:
            value = field_ref_value(pod, str(item["fieldRef"]["fieldPath"]))
        elif "resourceFieldRef" in item:
            value = resource_field_value(pod, item["resourceFieldRef"])
        else:
            raise VolumeNotReady(f"downwardAPI item {item.get('path')!r}: needs fieldRef")
        out[str(item["path"])] = FileProjection(value.encode(), int(item.get("mode", default)))
    return out


def format_map(values: dict[str, str]) -> str:
    """Kubernetes' fieldpath.FormatMap: sorted `key="value"` lines (Go-quoted values)."""
    return "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(values.items()))


def field_ref_value(pod: Obj, path: str) -> str:
    """The downward API's fieldRef paths (metadata.*, spec.nodeName, status.podIP, ...)."""
    for prefix, values in (
        ("metadata.labels", labels_of(pod)),
        ("metadata.annotations", annotations_of(pod)),
    ):
        if path == prefix:
            return format_map(values)
        if path.startswith(prefix + "['") and path.endswith("']"):
            return values.get(path[len(prefix) + 2 : -2], "")
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": name_of(pod),
        "metadata.namespace": namespace_of(pod),
        "metadata.uid": uid_of(pod),
        "spec.nodeName": str(spec.get("nodeName") or ""),
        "spec.serviceAccountName": str(spec.get("serviceAccountName") or ""),
        "status.podIP": str(status.get("podIP") or ""),
        "status.hostIP": str(status.get("hostIP") or ""),
    }
    if path not in simple:
        raise VolumeNotReady(f"downwardAPI: unsupported fieldPath {path!r}")
    return simple[path]


def resource_field_value(pod: Obj, ref: dict[str, Any]) -> str:
    """limits/requests of a container, divided by `divisor` and rounded up, as the kubelet."""
    resource = str(ref.get("resource") or "")
    containers = (pod.get("spec") or {}).get("containers") or []
    wanted = ref.get("containerName") or (containers[0].get("name") if containers else "")
    container = next((c for c in containers if c.get("name") == wanted), None)
    if container is None or "." not in resource:
        raise VolumeNotReady(f"downwardAPI: cannot resolve resource {resource!r} of {wanted!r}")
    section, res = resource.split(".", 1)
    text = ((container.get("resources") or {}).get(section) or {}).get(res)
    try:
        if text is not None:
            value = parse_quantity(text)
        elif section == "limits":
            value = parse_quantity(_node_allocatable(res))  # no limit: the node's capacity
        else:
            value = parse_quantity(0)
        divisor = parse_quantity(ref.get("divisor") or "1")
    except QuantityError as err:
        raise VolumeNotReady(f"downwardAPI: {err}") from None
    return str(math.ceil(value / divisor))


def _node_allocatable(resource: str) -> int:
    if resource == "cpu":
        return os.cpu_count() or 1
    if resource == "memory":
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return shutil.disk_usage("/").total

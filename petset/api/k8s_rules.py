"""Rules the API server enforces beyond the OpenAPI schema (pkg/apis/*/validation).

Kubernetes' published schemas check types and field names only; its Go
validation adds ranges, enums, cross-field rules (a selector must match the
template's labels, a volumeMount must name a volume). This module keeps the
rules petset's controllers rely on. Each check only looks at values of the
right type: a wrong type is the schema's to report, once.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from petset.api import names
from petset.api.k8s_schema import short
from petset.api.meta import Obj
from petset.api.selectors import selector_from_spec
from petset.api.units import parse_quantity

Problems = list[str]
MAX_DATA_BYTES = 1024 * 1024  # Secrets and ConfigMaps: 1 MiB, as in Kubernetes

_ENUMS: dict[str, tuple[str, ...]] = {
    "restartPolicy": ("Always", "OnFailure", "Never"),
    "podManagementPolicy": ("OrderedReady", "Parallel"),
    "statefulSetStrategy": ("RollingUpdate", "OnDelete"),
    "deploymentStrategy": ("RollingUpdate", "Recreate"),
    "retention": ("Retain", "Delete"),
    "serviceType": ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
    "protocol": ("TCP", "UDP", "SCTP"),
    "accessMode": ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"),
    "reclaimPolicy": ("Retain", "Delete"),
    "volumeBindingMode": ("Immediate", "WaitForFirstConsumer"),
}
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _minimum(value: Any, path: str, low: int, high: int | None = None) -> Problems:
    if not _is_int(value):
        return []
    if value < low:
        return [f"{path}: {value} is less than the minimum of {low}"]
    if high is not None and value > high:
        return [f"{path}: {value} is more than the maximum of {high}"]
    return []


def _enum(value: Any, path: str, which: str) -> Problems:
    if not isinstance(value, str) or value in _ENUMS[which]:
        return []
    return [f"{path}: {short(value)} is not supported; use one of: {', '.join(_ENUMS[which])}"]


def _label_like(value: Any, path: str, check: Callable[[str], list[str]]) -> Problems:
    if not isinstance(value, str):
        return []
    return [f"{path}: {value!r}: {r}" for r in check(value)]


def _port_number(value: Any, path: str) -> Problems:
    return _minimum(value, path, 1, 65535)


def _probe(probe: Any, path: str) -> Problems:
    if not isinstance(probe, dict):
        return []
    handlers = [h for h in _PROBE_HANDLERS if probe.get(h) is not None]
    if len(handlers) != 1:
        listed = ", ".join(handlers) if handlers else "none"
        return [f"{path}: needs exactly one handler of {', '.join(_PROBE_HANDLERS)} (has {listed})"]
    out: Problems = []
    for field, low in (("periodSeconds", 1), ("timeoutSeconds", 1), ("failureThreshold", 1)):
        out += _minimum(probe.get(field), f"{path}.{field}", low)
    return out


def _container(c: dict[str, Any], path: str, volumes: set[str]) -> Problems:
    out = _label_like(c.get("name"), f"{path}.name", names.dns1123_label)
    for i, port in enumerate(_l(c.get("ports"))):
        port = _d(port)
        out += _port_number(port.get("containerPort"), f"{path}.ports[{i}].containerPort")
        out += _enum(port.get("protocol"), f"{path}.ports[{i}].protocol", "protocol")
    for i, mount in enumerate(_l(c.get("volumeMounts"))):
        name = _d(mount).get("name")
        if isinstance(name, str) and name not in volumes:
            known = ", ".join(sorted(volumes)) or "none"
            out.append(
                f"{path}.volumeMounts[{i}].name: no volume named {name!r} "
                f"(volumes and volumeClaimTemplates: {known})"
            )
    for i, env in enumerate(_l(c.get("env"))):
        name = _d(env).get("name")
        if isinstance(name, str) and (not name or "=" in name):
            out.append(f"{path}.env[{i}].name: {name!r} must be non-empty and without '='")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        out += _probe(c.get(probe), f"{path}.{probe}")
    return out


def pod_spec_problems(spec: dict[str, Any], path: str, claim_names: set[str]) -> Problems:
    """A PodSpec's rules; `claim_names` are a StatefulSet's volumeClaimTemplates."""
    out: Problems = []
    volumes = set(claim_names)
    for i, volume in enumerate(_l(spec.get("volumes"))):
        name = _d(volume).get("name")
        out += _label_like(name, f"{path}.volumes[{i}].name", names.dns1123_label)
        if isinstance(name, str) and name in volumes:
            out.append(f"{path}.volumes[{i}].name: {name!r} is used more than once")
        if isinstance(name, str):
            volumes.add(name)
    if "containers" in spec and not _l(spec.get("containers")):
        out.append(f"{path}.containers: must have at least one container")
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(_l(spec.get(group))):
            if not isinstance(c, dict):
                continue
            out += _container(c, f"{path}.{group}[{i}]", volumes)
            name = c.get("name")
            if isinstance(name, str) and name in seen:
                out.append(f"{path}.{group}[{i}].name: {name!r} is used by another container")
            seen.add(str(name))
    out += _enum(spec.get("restartPolicy"), f"{path}.restartPolicy", "restartPolicy")
    out += _minimum(
        spec.get("terminationGracePeriodSeconds"), f"{path}.terminationGracePeriodSeconds", 0
    )
    return out


def _claim_problems(spec: dict[str, Any], path: str) -> Problems:
    """A PersistentVolumeClaimSpec: access modes and a positive storage request."""
    out: Problems = []
    modes = spec.get("accessModes")
    if isinstance(modes, list):
        if not modes:
            out.append(f"{path}.accessModes: at least one is required, e.g. [ReadWriteOnce]")
        for i, mode in enumerate(modes):
            out += _enum(mode, f"{path}.accessModes[{i}]", "accessMode")
    elif modes is None:
        out.append(f"{path}.accessModes: required, e.g. [ReadWriteOnce]")
    if spec.get("dataSource") or spec.get("dataSourceRef") or spec.get("volumeName"):
        return out
    storage = _d(_d(spec.get("resources")).get("requests")).get("storage")
    where = f"{path}.resources.requests.storage"
    if storage is None:
        out.append(f"{where}: required, e.g. resources: {{requests: {{storage: 1Gi}}}}")
    elif isinstance(storage, str | int | float) and not isinstance(storage, bool):
        try:
            if parse_quantity(str(storage)) <= 0:
                out.append(f"{where}: {short(storage)} must be greater than zero")
        except ValueError as err:
            out.append(f"{where}: {err}")
    return out


def _template_problems(obj: Obj, claim_names: set[str]) -> Problems:
    spec = _d(obj.get("spec"))
    out: Problems = []
    selector = spec.get("selector")
    labels = _d(_d(_d(spec.get("template")).get("metadata")).get("labels"))
    out += [
        p
        for p in names.validate_labels(labels, "spec.template.metadata.labels")
        if "must be a string" not in p  # the schema reports wrong types
    ]
    if isinstance(selector, dict):
        string_labels = all(isinstance(v, str) for v in labels.values())
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            out.append("spec.selector: must not be empty; e.g. matchLabels: {app: web}")
        elif string_labels and not selector_from_spec(selector).matches(labels):
            out.append(
                "spec.template.metadata.labels: do not match spec.selector; give the "
                f"template the selector's labels ({short(selector)})"
            )
    template_spec = _d(_d(spec.get("template")).get("spec"))
    out += pod_spec_problems(template_spec, "spec.template.spec", claim_names)
    out += _minimum(spec.get("replicas"), "spec.replicas", 0)
    out += _minimum(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", 0)
    out += _minimum(spec.get("minReadySeconds"), "spec.minReadySeconds", 0)
    return out


def _statefulset(obj: Obj) -> Problems:
    spec = _d(obj.get("spec"))
    out: Problems = []
    claims: set[str] = set()
    for i, vct in enumerate(_l(spec.get("volumeClaimTemplates"))):
        path = f"spec.volumeClaimTemplates[{i}]"
        name = _d(_d(vct).get("metadata")).get("name")
        if not name:
            out.append(f"{path}.metadata.name: required (volumeMounts refer to it)")
        out += _label_like(name, f"{path}.metadata.name", names.dns1123_label)
        if isinstance(name, str):
            claims.add(name)
        out += _claim_problems(_d(_d(vct).get("spec")), f"{path}.spec")
    out += _template_problems(obj, claims)
    policy = _d(_d(_d(spec.get("template")).get("spec"))).get("restartPolicy")
    if isinstance(policy, str) and policy != "Always":
        out.append(f"spec.template.spec.restartPolicy: {policy!r} is not supported; use Always")
    out += _enum(spec.get("podManagementPolicy"), "spec.podManagementPolicy", "podManagementPolicy")
    strategy = _d(spec.get("updateStrategy"))
    out += _enum(strategy.get("type"), "spec.updateStrategy.type", "statefulSetStrategy")
    rolling = _d(strategy.get("rollingUpdate"))
    out += _minimum(rolling.get("partition"), "spec.updateStrategy.rollingUpdate.partition", 0)
    retention = _d(spec.get("persistentVolumeClaimRetentionPolicy"))
    for field in ("whenDeleted", "whenScaled"):
        path = f"spec.persistentVolumeClaimRetentionPolicy.{field}"
        out += _enum(retention.get(field), path, "retention")
    return out


def _deployment(obj: Obj) -> Problems:
    strategy = _d(_d(obj.get("spec")).get("strategy"))
    out = _template_problems(obj, set())
    out += _enum(strategy.get("type"), "spec.strategy.type", "deploymentStrategy")
    return out


def _replicaset(obj: Obj) -> Problems:
    return _template_problems(obj, set())


def _pod(obj: Obj) -> Problems:
    return pod_spec_problems(_d(obj.get("spec")), "spec", set())


def _service(obj: Obj) -> Problems:
    spec = _d(obj.get("spec"))
    out = _enum(spec.get("type"), "spec.type", "serviceType")
    ports = _l(spec.get("ports"))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        port = _d(port)
        path = f"spec.ports[{i}]"
        out += _port_number(port.get("port"), f"{path}.port")
        out += _enum(port.get("protocol"), f"{path}.protocol", "protocol")
        name = port.get("name")
        if len(ports) > 1 and not name:
            out.append(f"{path}.name: required when a Service has more than one port")
        if isinstance(name, str) and name:
            out += _label_like(name, f"{path}.name", names.dns1123_label)
            if name in seen:
                out.append(f"{path}.name: {name!r} is used by another port")
            seen.add(name)
        target = port.get("targetPort")
        if _is_int(target):
            out += _port_number(target, f"{path}.targetPort")
        elif isinstance(target, str) and not _IANA_SVC_NAME.match(target):
            out.append(
                f"{path}.targetPort: {target!r} must be a port number or the name of a "
                "container port (lower case letters, digits and '-')"
            )
    if spec.get("clusterIP") == "None" and spec.get("type") not in (None, "ClusterIP"):
        out.append("spec.clusterIP: None (headless) needs spec.type ClusterIP")
    return out


def _data_keys(obj: Obj, fields: tuple[str, ...]) -> Problems:
    out: Problems = []
    total = 0
    seen: dict[str, str] = {}
    for field in fields:
        for key, value in _d(obj.get(field)).items():
            out += _label_like(key, f"{field}[{key}]", names.config_key)
            if key in seen and {seen[key], field} != {"data", "stringData"}:
                out.append(f"{field}[{key}]: also in {seen[key]}")
            seen[key] = field
            total += len(str(key)) + len(str(value))
    if total > MAX_DATA_BYTES:
        out.append(f"data: {total} bytes is over the 1 MiB limit; use a volume for large data")
    return out


def _secret(obj: Obj) -> Problems:
    out = _data_keys(obj, ("data", "stringData"))
    for key, value in _d(obj.get("data")).items():
        if isinstance(value, str):
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                out.append(
                    f"data[{key}]: not valid base64; put plain text under stringData instead"
                )
    return out


def _configmap(obj: Obj) -> Problems:
    return _data_keys(obj, ("data", "binaryData"))


def _pvc(obj: Obj) -> Problems:
    return _claim_problems(_d(obj.get("spec")), "spec")


def _storageclass(obj: Obj) -> Problems:
    out = _enum(obj.get("reclaimPolicy"), "reclaimPolicy", "reclaimPolicy")
    out += _enum(obj.get("volumeBindingMode"), "volumeBindingMode", "volumeBindingMode")
    return out


RULES: dict[str, Callable[[Obj], Problems]] = {
    "Pod": _pod,
    "StatefulSet": _statefulset,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "Service": _service,
    "Secret": _secret,
    "ConfigMap": _configmap,
    "PersistentVolumeClaim": _pvc,
    "StorageClass": _storageclass,
}


def rule_problems(obj: Obj) -> Problems:
    """'field.path: reason' for the API server's rules beyond the schema."""
    check = RULES.get(str(obj.get("kind")))
    return check(obj) if check else []

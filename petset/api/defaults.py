"""The API server's defaulting (pkg/apis/*/v1/defaults.go) for the kinds petset serves.

Controllers read defaulted objects: a StatefulSet always has an updateStrategy,
a container port a protocol, a Service port a targetPort. `apply_defaults`
returns a new dict and is idempotent, so the store can apply it on every write.
Only fields Kubernetes defaults are set, with Kubernetes' values, so an object
read back from petset looks like one read back from a real cluster.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from petset.api.meta import Obj

_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1}


def _d(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """parent[key] as a dict, created when missing (defaults fill nested structs)."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _image_pull_policy(image: str) -> str:
    """Always for `:latest` or untagged images, else IfNotPresent (as Kubernetes)."""
    name = image.split("@", 1)[0]
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    if "@" in image:
        return "IfNotPresent"
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: dict[str, Any]) -> None:
    for key, value in _PROBE_DEFAULTS.items():
        probe.setdefault(key, value)
    probe.setdefault("failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def _container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    for port in _items(container.get("ports")):
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            _probe(container[probe])
    for env in _items(container.get("env")):
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def _volume(volume: dict[str, Any]) -> None:
    for source in ("configMap", "secret"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 0o644)
    field_refs = (volume.get("downwardAPI") or {}).get("items")
    for item in _items(field_refs):
        if isinstance(item.get("fieldRef"), dict):
            item["fieldRef"].setdefault("apiVersion", "v1")
    if isinstance(volume.get("downwardAPI"), dict):
        volume["downwardAPI"].setdefault("defaultMode", 0o644)


def pod_spec_defaults(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec and the defaults of what a PodSpec contains (in place)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for group in ("initContainers", "containers"):
        for container in _items(spec.get(group)):
            _container(container)
    for volume in _items(spec.get("volumes")):
        _volume(volume)


def _claim_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("volumeMode", "Filesystem")


def _pod(obj: Obj) -> None:
    pod_spec_defaults(_d(obj, "spec"))


def _template(spec: dict[str, Any]) -> None:
    pod_spec_defaults(_d(_d(spec, "template"), "spec"))


def _statefulset(obj: Obj) -> None:
    spec = _d(obj, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _d(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _d(strategy, "rollingUpdate").setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = _d(spec, "persistentVolumeClaimRetentionPolicy")
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    for claim in _items(spec.get("volumeClaimTemplates")):
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        _claim_spec(_d(claim, "spec"))
    _template(spec)


def _deployment(obj: Obj) -> None:
    spec = _d(obj, "spec")
    spec.setdefault("replicas", 1)
    strategy = _d(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _d(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def _replicaset(obj: Obj) -> None:
    spec = _d(obj, "spec")
    spec.setdefault("replicas", 1)
    _template(spec)


def _service(obj: Obj) -> None:
    spec = _d(obj, "spec")
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in _items(spec.get("ports")):
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])


def _pvc(obj: Obj) -> None:
    _claim_spec(_d(obj, "spec"))


def _pv(obj: Obj) -> None:
    spec = _d(obj, "spec")
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")


def _secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        # the API server writes stringData into data (stringData wins) and drops it
        data = _d(obj, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _storageclass(obj: Obj) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def _petset_kind(obj: Obj) -> None:
    """petset.dev kinds: the models' defaults, when the object is valid."""
    from pydantic import ValidationError

    from petset.api.petset_kinds import MODELS

    model = MODELS[str(obj["kind"])]
    try:
        parsed = model.model_validate(obj)
    except ValidationError:
        return  # invalid objects are validation's business, not defaulting's
    obj["spec"] = parsed.model_dump(by_alias=True, exclude_none=True)["spec"]


DEFAULTERS: dict[str, Callable[[Obj], None]] = {
    "Pod": _pod,
    "StatefulSet": _statefulset,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "Service": _service,
    "PersistentVolumeClaim": _pvc,
    "PersistentVolume": _pv,
    "Secret": _secret,
    "StorageClass": _storageclass,
    "MySQLCluster": _petset_kind,
    "Backup": _petset_kind,
    "BackupSchedule": _petset_kind,
}


def apply_defaults(obj: Obj) -> Obj:
    """A defaulted copy of `obj`; unknown kinds come back unchanged (copied)."""
    out = copy.deepcopy(obj)
    defaulter = DEFAULTERS.get(str(out.get("kind")))
    if defaulter is not None:
        defaulter(out)
    return out

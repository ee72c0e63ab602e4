"""What the local backend can and cannot honour in a pod spec, as two tables.

One spec runs on both backends. Fields that only make sense with a scheduler,
a container runtime or cgroups (nodeSelector, resources, ...) are accepted and
kept, so the same manifest works on Kubernetes, but the local backend says once
that it ignores them. Fields that Kubernetes leaves optional because the image
supplies them (a container's `command`) are required locally: petset runs
programs from the host, not images.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from petset.api.meta import Obj

# Pod-spec fields the local backend ignores, with why (shown to the user).
IGNORED_POD_FIELDS: dict[str, str] = {
    "nodeSelector": "there is one node",
    "nodeName": "there is one node",
    "affinity": "there is one node",
    "tolerations": "there is one node",
    "topologySpreadConstraints": "there is one node",
    "priorityClassName": "there is no scheduler",
    "priority": "there is no scheduler",
    "preemptionPolicy": "there is no scheduler",
    "schedulerName": "there is no scheduler",
    "runtimeClassName": "there is no container runtime",
    "overhead": "there is no container runtime",
    "imagePullSecrets": "images are not pulled",
    "securityContext": "pods run as the daemon's user, without cgroups or seccomp",
    "hostNetwork": "pods always share the host network (each has its own loopback IP)",
    "hostPID": "every pod has its own PID namespace",
    "hostIPC": "pods share the host's IPC namespace",
    "resources": "there are no cgroup limits",
    "dnsConfig": "pods use petset's DNS server",
    "readinessGates": "only probes decide readiness",
    "os": "pods run on the host's operating system",
}

# Container fields the local backend ignores, with why.
IGNORED_CONTAINER_FIELDS: dict[str, str] = {
    "imagePullPolicy": "images are not pulled",
    "resources": "there are no cgroup limits",
    "resizePolicy": "there are no cgroup limits",
    "securityContext": "containers run as the daemon's user, without capabilities or seccomp",
}

# Container fields the local backend needs although Kubernetes makes them optional.
REQUIRED_CONTAINER_FIELDS: dict[str, str] = {
    "command": (
        "required by the local backend (images are not run locally; give the program to "
        'start, e.g. command: ["/usr/bin/python3", "-m", "http.server"])'
    ),
}

# Where each kind keeps its pod spec.
POD_SPEC_PATH: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "StatefulSet": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
}


def pod_spec_of(obj: Obj) -> tuple[str, dict[str, Any]] | None:
    """(field path, pod spec) of an object that carries one, else None."""
    path = POD_SPEC_PATH.get(str(obj.get("kind")))
    if path is None:
        return None
    cur: Any = obj
    for part in path:
        cur = cur.get(part) if isinstance(cur, dict) else None
    return (".".join(path), cur) if isinstance(cur, dict) else None


def _containers(spec: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for group in ("initContainers", "containers"):
        items = spec.get(group)
        if not isinstance(items, list):
            continue
        for i, container in enumerate(items):
            if isinstance(container, dict):
                yield f"{prefix}.{group}[{i}]", container


def _present(value: Any) -> bool:
    """Kubernetes treats an empty list, map or false as unset: no warning for those."""
    return value not in (None, False, {}, [], "")


def local_warnings(obj: Obj) -> list[str]:
    """'field: ignored by the local backend (why)' once per field path."""
    found = pod_spec_of(obj)
    if found is None:
        return []
    prefix, spec = found
    out = []
    for field, why in IGNORED_POD_FIELDS.items():
        if _present(spec.get(field)):
            out.append(f"{prefix}.{field}: ignored by the local backend ({why})")
    for path, container in _containers(spec, prefix):
        for field, why in IGNORED_CONTAINER_FIELDS.items():
            if _present(container.get(field)):
                out.append(f"{path}.{field}: ignored by the local backend ({why})")
    return out


def local_problems(obj: Obj) -> list[str]:
    """'field: reason' for what the local backend needs and the spec leaves out."""
    found = pod_spec_of(obj)
    if found is None:
        return []
    prefix, spec = found
    out = []
    for path, container in _containers(spec, prefix):
        for field, reason in REQUIRED_CONTAINER_FIELDS.items():
            if not container.get(field):
                out.append(f"{path}.{field}: {reason}")
    return out

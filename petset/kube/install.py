"""The operator's install manifests: Namespace, ServiceAccount, least-privilege
RBAC and the operator Deployment. Pure.

Least privilege: the operator writes only what the MySQL controller creates
(StatefulSets, Services, ConfigMaps, Secrets, PDBs), labels and deletes Pods
(role labels, fencing), execs into member pods, reads their logs, writes
Events, and holds one Lease (only in its own namespace). It never touches
PersistentVolumeClaims: claims belong to the StatefulSet controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petset.api.kinds import PETSET_GROUP
from petset.api.meta import Obj
from petset.kube.crds import petset_kinds

NAME = "petset-operator"
LEASE_NAME = "petset-operator"
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "petset"}


@dataclass(frozen=True)
class InstallOptions:
    namespace: str = "petset-system"
    image: str = "petset/petset:0.1.0"
    # None: watch every namespace (ClusterRole); else only this one (Role in it)
    watch_namespace: str | None = None
    replicas: int = 2


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
READ = ["get", "list", "watch"]


def operator_rules() -> list[dict[str, Any]]:
    plurals = [k.plural for k in petset_kinds()]
    return [
        _rule([PETSET_GROUP], plurals, WRITE),
        _rule([PETSET_GROUP], [f"{p}/status" for p in plurals], ["get", "update", "patch"]),
        _rule(["apps"], ["statefulsets"], WRITE),
        _rule([""], ["services", "configmaps", "secrets"], WRITE),
        _rule([""], ["pods"], ["get", "list", "watch", "patch", "delete"]),
        _rule([""], ["pods/exec"], ["create", "get"]),
        _rule([""], ["pods/log"], ["get"]),
        _rule([""], ["events"], ["get", "list", "create", "patch", "update"]),
        _rule(["policy"], ["poddisruptionbudgets"], WRITE),
    ]


def lease_rules() -> list[dict[str, Any]]:
    return [_rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update", "patch"])]


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if namespace:
        md["namespace"] = namespace
    return md


def _binding(kind: str, role_kind: str, name: str, opts: InstallOptions, ns: str | None) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _meta(name, ns),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": opts.namespace}],
    }


def render_rbac(opts: InstallOptions) -> list[Obj]:
    out: list[Obj] = []
    scope = opts.watch_namespace
    if scope is None:
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": _meta(NAME), "rules": operator_rules()})  # fmt: skip
        out.append(_binding("ClusterRoleBinding", "ClusterRole", NAME, opts, None))
    else:
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": _meta(NAME, scope), "rules": operator_rules()})  # fmt: skip
        out.append(_binding("RoleBinding", "Role", NAME, opts, scope))
    # the Lease lives in the operator's own namespace: no cluster-wide lease rights
    lease = f"{NAME}-leader-election"
    out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": _meta(lease, opts.namespace), "rules": lease_rules()})  # fmt: skip
    out.append(_binding("RoleBinding", "Role", lease, opts, opts.namespace))
    return out


def render_deployment(opts: InstallOptions) -> Obj:
    args = ["operator", f"--lease-namespace={opts.namespace}", f"--member-image={opts.image}"]
    args.append(
        f"--namespace={opts.watch_namespace}" if opts.watch_namespace else "--all-namespaces"
    )
    env = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    container = {
        "name": "operator",
        "image": opts.image,
        "command": ["petset"],
        "args": args,
        "env": env,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                      "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": 65532,
                            "capabilities": {"drop": ["ALL"]}},
    }  # fmt: skip
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, opts.namespace),
        "spec": {
            "replicas": opts.replicas,
            "selector": {"matchLabels": dict(_LABELS)},
            "template": {
                "metadata": {"labels": dict(_LABELS)},
                "spec": {
                    "serviceAccountName": NAME,
                    "containers": [container],
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                },
            },
        },
    }


def render_install(opts: InstallOptions) -> list[Obj]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(opts.namespace)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, opts.namespace)},
        *render_rbac(opts),
        render_deployment(opts),
    ]

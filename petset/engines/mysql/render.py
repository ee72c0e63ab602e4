"""MySQLCluster -> the objects that run it: a StatefulSet, three Services, a
ConfigMap and a Secret. Pure: the controller passes in everything that comes
from outside (the program that runs member commands, generated passwords).

The engine decides *what* the topology is (roles, via the `petset.dev/role`
label the rw/ro Services select on); the StatefulSet decides *where and how*
members run. Its updateStrategy is OnDelete because the engine rolls members
itself, replicas first and the primary last.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from petset.api import mariadb_params
from petset.api.merge import merge_patch
from petset.api.meta import Obj, name_of, namespace_of, owner_reference
from petset.api.petset_kinds import MySQLClusterSpec
from petset.engines.mysql.backup.bootstrap import spec_bootstrap, template_bootstrap
from petset.engines.mysql.backup.restore import restore_pod_additions
from petset.engines.mysql.memberenv import AGENT_PORT

ROLE_LABEL = "petset.dev/role"
CLUSTER_LABEL = "petset.dev/cluster"
PRIMARY = "primary"
REPLICA = "replica"

DATADIR = "/var/lib/mysql"
CONFDIR = "/etc/mysql/petset"
SRCDIR = "/etc/mysql/petset-src"
RUNDIR = "/run/mysqld"


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs from outside the spec."""

    # argv prefix that runs petset's member commands: locally the daemon's own
    # interpreter (the sandbox sees the host's files), on Kubernetes the image's.
    member_command: tuple[str, ...] = ("python3", "-m", "petset.engines.mysql.member")
    mariadbd: str = "mariadbd"
    cluster_domain: str = "cluster.local"
    image: str = "petset/mysql-member:latest"
    # the backup store as a host directory (local backend): mounted read-only
    # into init-data when spec.bootstrap restores from it
    backup_store: str | None = None


def selector_labels(cluster: Obj) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "mysql",
        "app.kubernetes.io/instance": name_of(cluster),
        CLUSTER_LABEL: name_of(cluster),
    }


def secret_name(cluster: Obj, spec: MySQLClusterSpec) -> str:
    return spec.credentials_secret or f"{name_of(cluster)}-credentials"


def config_name(cluster: Obj) -> str:
    return f"{name_of(cluster)}-config"


def _meta(cluster: Obj, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_of(cluster),
        "labels": selector_labels(cluster),
        "ownerReferences": [owner_reference(cluster)],
        **extra,
    }


def render_secret(cluster: Obj, spec: MySQLClusterSpec, passwords: dict[str, str]) -> Obj:
    """Only created when absent (never rewritten: the passwords live in the data)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(cluster, secret_name(cluster, spec)),
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in passwords.items()},
    }


def render_configmap(cluster: Obj, spec: MySQLClusterSpec, *, initialized: bool) -> Obj:
    doc = {
        "config": dict(spec.config),
        "semiSync": spec.semi_sync,
        "semiSyncTimeoutMs": spec.semi_sync_timeout_ms,
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(cluster, config_name(cluster)),
        "data": {
            "cluster.json": json.dumps(doc, sort_keys=True, indent=2),
            "initialized": "true" if initialized else "false",
        },
    }


def render_services(cluster: Obj, spec: MySQLClusterSpec) -> list[Obj]:
    name = name_of(cluster)
    sel = selector_labels(cluster)
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(cluster, name),
        "spec": {
            "clusterIP": "None",
            # members find each other (and a clone donor) before they are Ready
            "publishNotReadyAddresses": True,
            "selector": sel,
            "ports": [
                {"name": "mysql", "port": 3306, "targetPort": 3306},
                {"name": "agent", "port": AGENT_PORT, "targetPort": AGENT_PORT},
            ],
        },
    }
    out = [headless]
    for suffix, role, ep in (("rw", PRIMARY, spec.service.rw), ("ro", REPLICA, spec.service.ro)):
        svc_spec: dict[str, Any] = {
            "selector": {**sel, ROLE_LABEL: role},
            "ports": [{"name": "mysql", "port": ep.port, "targetPort": 3306}],
        }
        if ep.type == "None":
            svc_spec["clusterIP"] = "None"
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(cluster, f"{name}-{suffix}"),
                "spec": svc_spec,
            }
        )
    return out


def _env(cluster: Obj, spec: MySQLClusterSpec, ctx: RenderContext) -> list[dict[str, Any]]:
    def field(path: str) -> dict[str, Any]:
        return {"fieldRef": {"fieldPath": path}}

    def secret(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": secret_name(cluster, spec), "key": key}}

    return [
        {"name": "POD_NAME", "valueFrom": field("metadata.name")},
        {"name": "POD_NAMESPACE", "valueFrom": field("metadata.namespace")},
        {"name": "POD_IP", "valueFrom": field("status.podIP")},
        {"name": "SERVICE_NAME", "value": name_of(cluster)},
        {"name": "CLUSTER_DOMAIN", "value": ctx.cluster_domain},
        {"name": "DATADIR", "value": DATADIR},
        {"name": "CONFDIR", "value": CONFDIR},
        {"name": "MYSQL_SOCKET", "value": f"{RUNDIR}/mysqld.sock"},
        {"name": "CLUSTER_JSON", "value": f"{SRCDIR}/cluster.json"},
        {"name": "AGENT_PORT", "value": str(AGENT_PORT)},
        {"name": "ADMIN_PASSWORD", "valueFrom": secret("admin-password")},
        {"name": "REPLICATION_PASSWORD", "valueFrom": secret("replication-password")},
        {"name": "APP_PASSWORD", "valueFrom": secret("app-password")},
        {
            "name": "CLUSTER_INITIALIZED",
            "valueFrom": {
                "configMapKeyRef": {
                    "name": config_name(cluster),
                    "key": "initialized",
                    "optional": True,
                }
            },
        },
    ]


def _pod_spec(cluster: Obj, spec: MySQLClusterSpec, ctx: RenderContext) -> dict[str, Any]:
    env = _env(cluster, spec, ctx)
    mounts = [
        {"name": "data", "mountPath": DATADIR},
        {"name": "conf", "mountPath": CONFDIR},
        {"name": "config-src", "mountPath": SRCDIR, "readOnly": True},
        {"name": "run", "mountPath": RUNDIR},
    ]
    member = list(ctx.member_command)
    image = spec.image or ctx.image
    # the bootstrap in use: an ignored edit of spec.bootstrap does not roll the members
    bootstrap = template_bootstrap(cluster, spec_bootstrap(spec))
    restore_env, restore_volumes, restore_mounts = restore_pod_additions(
        namespace_of(cluster), bootstrap, ctx.backup_store
    )
    return {
        "terminationGracePeriodSeconds": 30,
        "initContainers": [
            {
                "name": "config",
                "image": image,
                "command": [*member, "config"],
                "env": env,
                "volumeMounts": mounts,
            },
            {
                "name": "init-data",
                "image": image,
                "command": [*member, "init-data"],
                "env": env + restore_env,
                "volumeMounts": mounts + restore_mounts,
            },
        ],
        "containers": [
            {
                "name": "mariadbd",
                "image": image,
                "command": [ctx.mariadbd, f"--defaults-file={CONFDIR}/my.cnf"],
                "env": env,
                "ports": [{"name": "mysql", "containerPort": 3306}],
                "volumeMounts": mounts,
                "readinessProbe": {
                    "httpGet": {"path": "/healthz", "port": AGENT_PORT},
                    "periodSeconds": 1,
                    "timeoutSeconds": 2,
                    "failureThreshold": 2,
                },
            },
            {
                "name": "agent",
                "image": image,
                "command": [*member, "agent"],
                "env": env,
                "ports": [{"name": "agent", "containerPort": AGENT_PORT}],
                "volumeMounts": mounts,
            },
        ],
        "volumes": [
            {"name": "conf", "emptyDir": {}},
            {"name": "run", "emptyDir": {}},
            {"name": "config-src", "configMap": {"name": config_name(cluster)}},
            *restore_volumes,
        ],
    }


STATIC_CONFIG_ANNOTATION = "petset.dev/static-config"
TEMPLATE_ANNOTATION = "petset.dev/template-digest"
_BY_NAME = ("containers", "initContainers", "volumes")


def static_config_hash(spec: MySQLClusterSpec) -> str | None:
    """A digest of spec.config's static (restart-only) parameters; None when none."""
    _dynamic, static = mariadb_params.split_static(dict(spec.config))
    if not static:
        return None
    text = json.dumps({k: static[k] for k in sorted(static)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def merge_template(template: Obj, override: Obj) -> Obj:
    """podTemplate overrides: a merge patch, except that containers, init
    containers and volumes merge by name as kubectl's strategic merge does, so
    `containers: [{name: mariadbd, args: [...]}]` changes one container."""
    spec_override = dict(override.get("spec") or {})
    lists = {k: spec_override.pop(k) for k in _BY_NAME if isinstance(spec_override.get(k), list)}
    merged: Obj = merge_patch(template, {**override, "spec": spec_override})
    for key, items in lists.items():
        current = list(merged["spec"].get(key) or [])
        for item in items:
            at = next((i for i, c in enumerate(current) if c.get("name") == item.get("name")), None)
            if at is None:
                current.append(item)
            else:
                current[at] = merge_patch(current[at], item)
        merged["spec"][key] = current
    return merged


def render_statefulset(
    cluster: Obj, spec: MySQLClusterSpec, ctx: RenderContext, *, members: int | None = None
) -> Obj:
    labels = selector_labels(cluster)
    template: dict[str, Any] = {
        "metadata": {"labels": dict(labels)},
        "spec": _pod_spec(cluster, spec, ctx),
    }
    static = static_config_hash(spec)
    if static:
        # static parameters take effect only at start: a change of them is a new
        # revision, rolled like an upgrade (replicas first, the primary last)
        template["metadata"]["annotations"] = {STATIC_CONFIG_ANNOTATION: static}
    if spec.pod_template:
        template = merge_template(template, spec.pod_template)
    claim: dict[str, Any] = {
        "metadata": {"name": "data", "labels": dict(labels)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.storage.size}},
        },
    }
    if spec.storage.storage_class_name:
        claim["spec"]["storageClassName"] = spec.storage.storage_class_name
    # owned objects are synced by a subset test (sync.py), which never sees a
    # field the template lost (an override undone): a digest of it does
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(cluster, name_of(cluster), annotations={TEMPLATE_ANNOTATION: digest}),
        "spec": {
            "replicas": spec.replicas if members is None else members,
            "serviceName": name_of(cluster),
            # members wait for a donor in init-data, so they can start together
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": dict(labels)},
            "template": template,
            "volumeClaimTemplates": [claim],
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
        },
    }


def render_all(
    cluster: Obj,
    spec: MySQLClusterSpec,
    ctx: RenderContext,
    *,
    initialized: bool,
    members: int | None = None,
) -> list[Obj]:
    """Everything but the Secret (created once, separately). `members` overrides
    the StatefulSet's size while a scale-in waits for a switchover."""
    return [
        render_configmap(cluster, spec, initialized=initialized),
        *render_services(cluster, spec),
        render_statefulset(cluster, spec, ctx, members=members),
    ]

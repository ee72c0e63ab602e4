"""petset input -> the manifests a real Kubernetes cluster takes. Pure.

Built-in kinds pass through, minus what only the local backend understands
(each change is reported as a note for stderr). A MySQLCluster becomes what the
operator creates for it: the engine's own objects (`engines.mysql.render`) plus
a PodDisruptionBudget, which only Kubernetes has (there is no eviction API
locally). Passwords are never printed unless the caller asks for generated ones.
"""

from __future__ import annotations

import copy
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from petset.api.kinds import PETSET_GROUP
from petset.api.local_support import pod_spec_of
from petset.api.meta import Obj, name_of, namespace_of
from petset.api.petset_kinds import parse_mysqlcluster
from petset.engines.mysql.render import (
    RenderContext,
    render_all,
    render_secret,
    secret_name,
    selector_labels,
)

DEFAULT_IMAGE = "petset/petset:0.1.0"
SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                 "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")  # fmt: skip
# petset annotations that mean something only to the local controllers, with why.
LOCAL_ANNOTATIONS = {
    "petset.dev/paused": "pausing a rolling update is petset's local extension; on Kubernetes "
    "hold it with spec.updateStrategy.rollingUpdate.partition",
}
LOCAL_PROVISIONER = "petset.dev/local"


@dataclass(frozen=True)
class RenderOptions:
    k8s_version: str = "1.30.0"
    # member image of MySQLCluster pods when the spec names none
    image: str = DEFAULT_IMAGE
    # render the MySQLCluster credentials Secret with freshly generated passwords
    generate_secrets: bool = False


@dataclass
class Rendered:
    objects: list[Obj] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Rendered) -> None:
        self.objects += other.objects
        self.notes += other.notes


def version_tuple(k8s_version: str) -> tuple[int, int]:
    found = re.findall(r"\d+", k8s_version)
    if len(found) < 2:
        raise ValueError(f"{k8s_version!r} is not a Kubernetes version; write e.g. 1.30.0")
    return int(found[0]), int(found[1])


def pdb_api_version(k8s_version: str) -> str:
    """policy/v1 arrived in 1.21; older servers only have policy/v1beta1."""
    return "policy/v1" if version_tuple(k8s_version) >= (1, 21) else "policy/v1beta1"


def render_pdb(cluster: Obj, api_version: str) -> Obj:
    """At most one member voluntarily down (drain, upgrade) at a time."""
    return {
        "apiVersion": api_version,
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": name_of(cluster),
            "namespace": namespace_of(cluster),
            "labels": selector_labels(cluster),
        },
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(cluster)}},
    }


def _ref(obj: Obj) -> str:
    ns = namespace_of(obj)
    return f"{obj.get('kind')}/{ns + '/' if ns else ''}{name_of(obj)}"


def render_mysqlcluster(obj: Obj, opts: RenderOptions) -> Rendered:
    spec = parse_mysqlcluster(obj).spec
    ctx = RenderContext(image=opts.image)
    out = Rendered(notes=[
        f"{_ref(obj)}: rendered what the operator creates for it; to run it, install the "
        "operator (petset render crds; petset render operator) and apply the MySQLCluster itself",
    ])  # fmt: skip
    secret = secret_name(obj, spec)
    if opts.generate_secrets and not spec.credentials_secret:
        passwords = {
            k: secrets.token_urlsafe(18) for k in ("admin-password", "replication-password")
        }
        out.objects.append(render_secret(obj, spec, passwords))
        out.notes.append(f"{_ref(obj)}: Secret {secret} has freshly generated passwords")
    else:
        out.notes.append(
            f"{_ref(obj)}: pods read passwords from Secret {secret} (keys admin-password, "
            "replication-password), not rendered: the operator creates it, or create it with "
            f"kubectl create secret generic {secret} --from-literal=admin-password=... "
            "--from-literal=replication-password=... (or render with --generate-secrets)"
        )
    out.objects += render_all(obj, spec, ctx, initialized=False)
    out.objects.append(render_pdb(obj, pdb_api_version(opts.k8s_version)))
    for o in out.objects:
        # the operator sets them to the live MySQLCluster's uid, unknown here
        o["metadata"].pop("ownerReferences", None)
        if o["kind"] == "StatefulSet" and version_tuple(opts.k8s_version) < (1, 23):
            o["spec"].pop("persistentVolumeClaimRetentionPolicy", None)
            out.notes.append(f"{_ref(o)}: no persistentVolumeClaimRetentionPolicy before 1.23 "
                             "(claims are always retained)")  # fmt: skip
    return out


def _strip_metadata(obj: Obj, notes: list[str]) -> None:
    md: dict[str, Any] = obj.setdefault("metadata", {})
    for key in SERVER_FIELDS:
        md.pop(key, None)
    if obj.pop("status", None) is not None:
        notes.append(f"{_ref(obj)}: status dropped (the cluster writes it)")
    finalizers = [f for f in md.get("finalizers") or [] if not f.startswith(PETSET_GROUP + "/")]
    if finalizers != (md.get("finalizers") or []):
        notes.append(f"{_ref(obj)}: petset's local finalizers dropped")
        md["finalizers"] = finalizers
        if not finalizers:
            del md["finalizers"]
    annotations = md.get("annotations") or {}
    for key in sorted(annotations):
        if key in LOCAL_ANNOTATIONS:
            notes.append(f"{_ref(obj)}: annotation {key} dropped ({LOCAL_ANNOTATIONS[key]})")
            del annotations[key]
    if "annotations" in md and not annotations:
        del md["annotations"]


def _container_notes(obj: Obj) -> list[str]:
    found = pod_spec_of(obj)
    if found is None:
        return []
    prefix, spec = found
    notes = []
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            where = f"{_ref(obj)}: {prefix}.{group}[{i}]"
            if not c.get("image"):
                notes.append(
                    f"{where}.image: missing; Kubernetes requires an image (the local "
                    "backend runs host programs instead); kubectl apply will reject it"
                )
            command = c.get("command") or []
            if command and str(command[0]).startswith("/"):
                notes.append(
                    f"{where}.command: {command[0]} is a host path locally; on "
                    f"Kubernetes it must exist in image {c.get('image') or '(none)'}"
                )
    return notes  # fmt: skip


def render_builtin(obj: Obj) -> Rendered:
    out = copy.deepcopy(obj)
    notes: list[str] = []
    if out.get("kind") == "StorageClass" and out.get("provisioner") == LOCAL_PROVISIONER:
        return Rendered(notes=[
            f"{_ref(out)}: dropped; provisioner {LOCAL_PROVISIONER} makes directories on the "
            "local machine; claims that name this class need a class the cluster provides",
        ])  # fmt: skip
    if out.get("kind") == "Event":
        return Rendered(notes=[f"{_ref(out)}: dropped (Events are written by the cluster)"])
    _strip_metadata(out, notes)
    notes += _container_notes(out)
    return Rendered([out], notes)


def render_objects(objs: list[Obj], opts: RenderOptions) -> Rendered:
    """Every object rendered in input order; petset kinds other than MySQLCluster
    (Backup, BackupSchedule) are custom resources and pass through as they are."""
    out = Rendered()
    for obj in objs:
        kind = obj.get("kind")
        if kind == "MySQLCluster":
            out.extend(render_mysqlcluster(obj, opts))
        elif str(obj.get("apiVersion", "")).startswith(PETSET_GROUP + "/"):
            passthrough = copy.deepcopy(obj)
            _strip_metadata(passthrough, out.notes)
            out.objects.append(passthrough)
        else:
            out.extend(render_builtin(obj))
    return out


def render_texts(
    files: list[tuple[str, str]], opts: RenderOptions, *, namespace: str = "default"
) -> Rendered:
    """Load and validate (as for `apply`, without the local backend's rules), then render.
    Raises InvalidError listing every problem; nothing is rendered then."""
    from petset.api.k8s_schema import check_version
    from petset.api.loader import load_documents
    from petset.api.validation import validate_documents

    docs = [d for source, text in files for d in load_documents(text, source)]
    # input is checked with the oldest bundled schemas when the target is older
    schema_version = opts.k8s_version if check_version(opts.k8s_version) is None else "1.25.0"
    validated = validate_documents(
        docs, k8s_version=schema_version, default_namespace=namespace, local=False
    )
    return render_objects([v.obj for v in validated], opts)

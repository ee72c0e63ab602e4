"""The PVC side of Kubernetes' PV controller: bind, provision, protect, expand.

One pass observes the claim, its class, the PVs and the pods that use it, and
walks guard clauses; each returns a sentence for the log and the tests.
"""

from __future__ import annotations

import copy

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey, is_being_deleted, meta, name_of
from petset.controllers.volumes.binding import (
    VolumeConfig,
    annotate_provisioner,
    bind,
    provision,
    set_claim_pending,
)
from petset.controllers.volumes.classes import (
    WAIT_FOR_FIRST_CONSUMER,
    binding_mode,
    get_class,
    pick_default_class,
)
from petset.controllers.volumes.expansion import expand
from petset.controllers.volumes.matching import (
    BIND_COMPLETED,
    PVC_PROTECTION,
    SELECTED_NODE,
    claim_problems,
    claim_ref_matches,
    class_of_claim,
    find_matching_volume,
    mismatch,
    pods_using_claim,
)
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Result

PVC = "PersistentVolumeClaim"
PV = "PersistentVolume"


def reconcile_claim(cluster: Cluster, key: ObjectKey, config: VolumeConfig) -> Result:
    try:
        claim = cluster.get(PVC, key.name, key.namespace)
    except NotFoundError:
        return Result("claim is gone")
    if is_being_deleted(claim):
        return _release_protection(cluster, claim)
    claim = _ensure_finalizer(cluster, claim)
    if class_of_claim(claim) is None:
        claim = _assign_default_class(cluster, claim)
    problems = claim_problems(claim)
    if problems:
        set_claim_pending(cluster, claim)
        _warn(cluster, claim, "ProvisioningFailed", "; ".join(problems))
        return Result("claim is invalid: " + "; ".join(problems))
    if (claim.get("spec") or {}).get("volumeName"):
        return _sync_bound(cluster, claim)
    return _sync_unbound(cluster, claim, config)


def _ensure_finalizer(cluster: Cluster, claim: Obj) -> Obj:
    """Kubernetes' admission adds pvc-protection on create; with no admission we add it here."""
    if PVC_PROTECTION in (claim["metadata"].get("finalizers") or []):
        return claim
    new = copy.deepcopy(claim)
    meta(new).setdefault("finalizers", []).append(PVC_PROTECTION)
    return cluster.update(new)


def _assign_default_class(cluster: Cluster, claim: Obj) -> Obj:
    """Retroactive default class assignment (Kubernetes >= 1.28): unset means the default."""
    default = pick_default_class(cluster.list("StorageClass"))
    if default is None:
        return claim
    new = copy.deepcopy(claim)
    new["spec"]["storageClassName"] = name_of(default)
    return cluster.update(new)


def _release_protection(cluster: Cluster, claim: Obj) -> Result:
    finalizers = list(claim["metadata"].get("finalizers") or [])
    if PVC_PROTECTION not in finalizers:
        return Result("claim is being deleted")
    users = pods_using_claim(claim, cluster.list("Pod", claim["metadata"]["namespace"]))
    if users:
        names = ", ".join(sorted(name_of(p) for p in users))
        return Result(f"deletion waits: claim is in use by pod {names}")
    new = copy.deepcopy(claim)
    new["metadata"]["finalizers"] = [f for f in finalizers if f != PVC_PROTECTION]
    cluster.update(new)
    return Result("claim is no longer in use: deletion may proceed")


def _sync_bound(cluster: Cluster, claim: Obj) -> Result:
    volume_name = claim["spec"]["volumeName"]
    try:
        pv = cluster.get(PV, volume_name)
    except NotFoundError:
        return _lost_or_waiting(cluster, claim, volume_name)
    ref = pv["spec"].get("claimRef")
    if ref and not claim_ref_matches(pv, claim):
        set_claim_pending(cluster, claim)
        _normal(
            cluster,
            claim,
            "FailedBinding",
            f"volume {volume_name!r} is already bound to a different claim",
        )
        return Result(f"waiting: volume {volume_name} is bound to another claim")
    if not ref or not ref.get("uid"):
        why = mismatch(pv, claim)
        if why:
            set_claim_pending(cluster, claim)
            _normal(cluster, claim, "FailedBinding", f"cannot bind to {volume_name}: {why}")
            return Result(f"waiting: volume {volume_name} does not fit ({why})")
        claim = bind(cluster, claim, pv)
        return Result(f"bound to volume {volume_name}")
    claim = bind(cluster, claim, pv)
    pv = cluster.get(PV, volume_name)
    sc = get_class(cluster, class_of_claim(claim) or "") if class_of_claim(claim) else None
    return expand(cluster, claim, pv, sc) or Result(f"bound to volume {volume_name}")


def _lost_or_waiting(cluster: Cluster, claim: Obj, volume_name: str) -> Result:
    if (claim["metadata"].get("annotations") or {}).get(BIND_COMPLETED):
        status = claim.get("status") or {}
        if status.get("phase") != "Lost":
            new = copy.deepcopy(claim)
            new["status"] = {**status, "phase": "Lost"}
            cluster.update_status(new)
        _warn(
            cluster,
            claim,
            "ClaimLost",
            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
        )
        return Result(f"claim lost its volume {volume_name}")
    set_claim_pending(cluster, claim)
    return Result(f"waiting for volume {volume_name} to be created")


def _sync_unbound(cluster: Cluster, claim: Obj, config: VolumeConfig) -> Result:
    class_name = class_of_claim(claim) or ""
    sc = get_class(cluster, class_name) if class_name else None
    if binding_mode(sc) == WAIT_FOR_FIRST_CONSUMER:
        consumers = pods_using_claim(claim, cluster.list("Pod", claim["metadata"]["namespace"]))
        if not consumers:
            set_claim_pending(cluster, claim)
            _normal(
                cluster,
                claim,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
            )
            return Result("waiting for first consumer to be created before binding")
        node = (consumers[0].get("spec") or {}).get("nodeName") or config.node_name
        claim = _select_node(cluster, claim, node)
    pv = find_matching_volume(claim, cluster.list(PV))
    if pv is not None:
        bind(cluster, claim, pv)
        return Result(f"bound to volume {name_of(pv)}")
    claim = set_claim_pending(cluster, claim)
    return _provision_or_wait(cluster, claim, sc, class_name, config)


def _select_node(cluster: Cluster, claim: Obj, node: str) -> Obj:
    annotations = claim["metadata"].get("annotations") or {}
    if annotations.get(SELECTED_NODE) == node:
        return claim
    new = copy.deepcopy(claim)
    meta(new).setdefault("annotations", {})[SELECTED_NODE] = node
    return cluster.update(new)


def _provision_or_wait(
    cluster: Cluster, claim: Obj, sc: Obj | None, class_name: str, config: VolumeConfig
) -> Result:
    if not class_name:
        msg = "no persistent volumes available for this claim and no storage class is set"
        _normal(cluster, claim, "FailedBinding", msg)
        return Result(f"waiting: {msg}")
    if sc is None:
        msg = f'storageclass.storage.k8s.io "{class_name}" not found'
        _warn(cluster, claim, "ProvisioningFailed", msg)
        return Result(f"waiting: {msg}")
    provisioner = str(sc.get("provisioner") or "")
    if provisioner != config.provisioner:
        annotate_provisioner(cluster, claim, provisioner)
        msg = (
            f"Waiting for a volume to be created either by the external provisioner "
            f"'{provisioner}' or manually by the system administrator. If volume creation "
            "is delayed, please verify that the provisioner is running and correctly registered."
        )
        _normal(cluster, claim, "ExternalProvisioning", msg)
        return Result(f"waiting for provisioner {provisioner}")
    spec = claim.get("spec") or {}
    if spec.get("selector"):
        msg = "claim Selector is not supported: remove spec.selector or create a matching PV"
        _warn(cluster, claim, "ProvisioningFailed", msg)
        return Result(f"cannot provision: {msg}")
    if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
        msg = "spec.volumeMode: Block is not supported by petset.dev/local; use Filesystem"
        _warn(cluster, claim, "ProvisioningFailed", msg)
        return Result(f"cannot provision: {msg}")
    claim = annotate_provisioner(cluster, claim, provisioner)
    claim = provision(cluster, claim, sc, config)
    return Result(f"provisioned and bound volume {claim['spec']['volumeName']}")


def _normal(cluster: Cluster, claim: Obj, reason: str, message: str) -> None:
    cluster.record_event(claim, type="Normal", reason=reason, message=message)


def _warn(cluster: Cluster, claim: Obj, reason: str, message: str) -> None:
    cluster.record_event(claim, type="Warning", reason=reason, message=message)

"""Binding a claim to a volume, and provisioning one when none fits.

The write order is Kubernetes': the PV's claimRef first, then the claim's
volumeName, then both statuses, so a crash between steps leaves a PV that is
pre-bound to the claim and the next pass finishes the job.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from petset.api.errors import AlreadyExistsError
from petset.api.meta import Obj, meta, name_of, namespace_of
from petset.controllers.volumes.classes import LOCAL_PROVISIONER
from petset.controllers.volumes.matching import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    STORAGE_PROVISIONER,
    claim_ref,
    claim_ref_matches,
    provisioned_volume,
    requested_storage,
    volume_phase,
)
from petset.controllers.volumes.quantity import format_bytes
from petset.runtime.cluster import Cluster


@dataclass(frozen=True)
class VolumeConfig:
    """What the volume controllers need from Settings (paths are strings: no I/O here)."""

    volumes_dir: str
    node_name: str = "local"
    provisioner: str = LOCAL_PROVISIONER


def claim_label(claim: Obj) -> str:
    return f"{namespace_of(claim)}/{name_of(claim)}"


def set_volume_phase(
    cluster: Cluster, pv: Obj, phase: str, *, reason: str = "", message: str = ""
) -> Obj:
    """Write the PV's status.phase (with reason and message for Failed), skipping no-ops."""
    status = dict(pv.get("status") or {})
    want = {k: v for k, v in status.items() if k not in ("reason", "message")}
    want["phase"] = phase
    if reason:
        want["reason"] = reason
    if message:
        want["message"] = message
    if want == status:
        return pv
    new = copy.deepcopy(pv)
    new["status"] = want
    return cluster.update_status(new)


def bind(cluster: Cluster, claim: Obj, pv: Obj) -> Obj:
    """Bind `claim` to `pv` (both directions) and return the updated claim."""
    if not claim_ref_matches(pv, claim) or not pv["spec"]["claimRef"].get("uid"):
        pv = copy.deepcopy(pv)
        pv["spec"]["claimRef"] = claim_ref(claim)
        meta(pv).setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
        pv = cluster.update(pv)
    if volume_phase(pv) != "Bound":
        pv = set_volume_phase(cluster, pv, "Bound")
    spec = claim.get("spec") or {}
    if spec.get("volumeName") != name_of(pv) or BIND_COMPLETED not in (
        claim["metadata"].get("annotations") or {}
    ):
        claim = copy.deepcopy(claim)
        annotations = meta(claim).setdefault("annotations", {})
        if spec.get("volumeName") != name_of(pv):
            annotations[BOUND_BY_CONTROLLER] = "yes"
        annotations[BIND_COMPLETED] = "yes"
        claim["spec"]["volumeName"] = name_of(pv)
        claim = cluster.update(claim)
    return write_bound_status(cluster, claim, pv)


def write_bound_status(
    cluster: Cluster, claim: Obj, pv: Obj, *, allocated: int | None = None
) -> Obj:
    """Status of a bound claim: the PV's capacity and modes, and what was allocated."""
    status = dict(claim.get("status") or {})
    if allocated is None:
        old = (status.get("allocatedResources") or {}).get("storage")
        allocated_text = old or format_bytes(requested_storage(claim) or 0)
    else:
        allocated_text = format_bytes(allocated)
    want = {
        **status,
        "phase": "Bound",
        "accessModes": list(pv["spec"].get("accessModes") or []),
        "capacity": {"storage": pv["spec"]["capacity"]["storage"]},
        "allocatedResources": {"storage": allocated_text},
    }
    if want == status:
        return claim
    new = copy.deepcopy(claim)
    new["status"] = want
    return cluster.update_status(new)


def set_claim_pending(cluster: Cluster, claim: Obj) -> Obj:
    status = claim.get("status") or {}
    if status.get("phase") == "Pending":
        return claim
    new = copy.deepcopy(claim)
    new["status"] = {**status, "phase": "Pending"}
    return cluster.update_status(new)


def provision(cluster: Cluster, claim: Obj, storage_class: Obj, config: VolumeConfig) -> Obj:
    """Create the claim's PV (idempotent: an existing `pvc-<uid>` is reused) and bind it."""
    cluster.record_event(
        claim,
        type="Normal",
        reason="Provisioning",
        message=f'External provisioner is provisioning volume for claim "{claim_label(claim)}"',
        source=config.provisioner,
    )
    wanted = provisioned_volume(
        claim,
        storage_class,
        volumes_dir=config.volumes_dir,
        node_name=config.node_name,
        provisioner=config.provisioner,
    )
    try:
        pv = cluster.create(wanted)
    except AlreadyExistsError:
        pv = cluster.get("PersistentVolume", name_of(wanted))
    cluster.record_event(
        claim,
        type="Normal",
        reason="ProvisioningSucceeded",
        message=f"Successfully provisioned volume {name_of(pv)}",
        source=config.provisioner,
    )
    return bind(cluster, claim, pv)


def annotate_provisioner(cluster: Cluster, claim: Obj, provisioner: str) -> Obj:
    """Mark the claim for an external provisioner, as Kubernetes' PV controller does."""
    annotations = claim["metadata"].get("annotations") or {}
    if annotations.get(STORAGE_PROVISIONER) == provisioner:
        return claim
    new = copy.deepcopy(claim)
    meta(new).setdefault("annotations", {})[STORAGE_PROVISIONER] = provisioner
    return cluster.update(new)

"""Growing a bound claim: Kubernetes' external-resizer plus the kubelet's filesystem step.

A local volume is a directory with no real size, so the new size is recorded on
the PV and the claim and nothing is enforced; `VolumeManager.usage` reports what
is actually used. The claim's status.allocatedResources remembers the request
that was honoured, so a request below it is a shrink, which is refused.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from petset.api.meta import Obj, name_of
from petset.controllers.volumes.binding import write_bound_status
from petset.controllers.volumes.matching import requested_storage, volume_capacity
from petset.controllers.volumes.quantity import QuantityError, format_bytes, storage_bytes
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Result

RESIZE_ERROR = "ControllerResizeError"
RESIZING = "Resizing"


def allocated_storage(claim: Obj) -> int | None:
    status = claim.get("status") or {}
    text = (status.get("allocatedResources") or {}).get("storage") or (
        status.get("capacity") or {}
    ).get("storage")
    if text is None:
        return None
    try:
        return storage_bytes(text)
    except QuantityError:
        return None


def expand(cluster: Cluster, claim: Obj, pv: Obj, sc: Obj | None) -> Result | None:
    """Grow the volume when the claim asks for more; None when there is nothing to do."""
    request = requested_storage(claim) or 0
    allocated = allocated_storage(claim)
    if allocated is None or request == allocated:
        _set_condition(cluster, claim, RESIZE_ERROR, None)
        return None
    if request < allocated:
        return _refuse(cluster, claim, _shrink_message(request, allocated))
    if request <= volume_capacity(pv):
        write_bound_status(cluster, claim, pv, allocated=request)
        _set_condition(cluster, claim, RESIZE_ERROR, None)
        return Result(f"volume {name_of(pv)} already holds {format_bytes(request)}")
    if sc is None or not sc.get("allowVolumeExpansion"):
        class_name = name_of(sc) if sc else (claim["spec"].get("storageClassName") or "")
        return _refuse(
            cluster,
            claim,
            f"spec.resources.requests.storage: storage class {class_name!r} does not allow "
            "volume expansion (allowVolumeExpansion is not true); set it back to "
            f"{format_bytes(allocated)} or use a class that allows expansion",
        )
    return _grow(cluster, claim, pv, request)


def _shrink_message(request: int, allocated: int) -> str:
    return (
        f"spec.resources.requests.storage: cannot shrink the claim from "
        f"{format_bytes(allocated)} to {format_bytes(request)}; volumes can only grow: "
        f"set it to {format_bytes(allocated)} or more"
    )


def _refuse(cluster: Cluster, claim: Obj, message: str) -> Result:
    cluster.record_event(claim, type="Warning", reason="VolumeResizeFailed", message=message)
    _set_condition(cluster, claim, RESIZE_ERROR, message)
    return Result(f"resize refused: {message}")


def _grow(cluster: Cluster, claim: Obj, pv: Obj, request: int) -> Result:
    new_size = claim["spec"]["resources"]["requests"]["storage"]
    pv_name = name_of(pv)
    claim = _set_condition(cluster, claim, RESIZE_ERROR, None)
    claim = _set_condition(cluster, claim, RESIZING, "")
    cluster.record_event(
        claim,
        type="Normal",
        reason="Resizing",
        message=f"External resizer is resizing volume {pv_name}",
    )
    grown = copy.deepcopy(pv)
    grown["spec"]["capacity"]["storage"] = new_size
    pv = cluster.update(grown)
    cluster.record_event(
        claim,
        type="Normal",
        reason="VolumeResizeSuccessful",
        message=f'resize volume "{pv_name}" by resizer "petset.dev/local" finished successfully',
    )
    claim = _set_condition(cluster, claim, RESIZING, None)
    write_bound_status(cluster, claim, pv, allocated=request)
    cluster.record_event(
        claim,
        type="Normal",
        reason="FileSystemResizeSuccessful",
        message=f'MountVolume.NodeExpandVolume succeeded for volume "{pv_name}"',
    )
    return Result(f"volume {pv_name} grown to {new_size}")


def _set_condition(cluster: Cluster, claim: Obj, kind: str, message: str | None) -> Obj:
    """Add (message not None) or remove (None) the status condition of type `kind`."""
    status = dict(claim.get("status") or {})
    conditions: list[dict[str, Any]] = [
        c for c in status.get("conditions") or [] if c.get("type") != kind
    ]
    if message is not None:
        old = next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)
        if old is not None and old.get("message") == message:
            return claim
        conditions.append(_condition(kind, message))
    elif len(conditions) == len(status.get("conditions") or []):
        return claim
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    new = copy.deepcopy(claim)
    new["status"] = status
    return cluster.update_status(new)


def _condition(kind: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": "ShrinkNotSupported" if "cannot shrink" in message else kind,
        "message": message,
        "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

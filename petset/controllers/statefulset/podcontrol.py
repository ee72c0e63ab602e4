"""Creating, updating and deleting a StatefulSet's pods, with Kubernetes' Events.

The Event wording is Kubernetes' own (`create Pod web-1 in StatefulSet web
successful`), so tools and people that know Kubernetes read petset's the same.
"""

from __future__ import annotations

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError, PetsetError
from petset.api.meta import Obj, name_of, namespace_of, uid_of
from petset.controllers.statefulset import claims
from petset.controllers.statefulset.identity import (
    identity_matches,
    storage_matches,
    update_identity,
    update_storage,
)
from petset.runtime.cluster import Cluster

_MAX_RETRIES = 10


def pod_event(cluster: Cluster, verb: str, sts: Obj, pod: Obj, err: Exception | None) -> None:
    if err is None:
        cluster.record_event(
            sts,
            type="Normal",
            reason=f"Successful{verb.title()}",
            message=f"{verb} Pod {name_of(pod)} in StatefulSet {name_of(sts)} successful",
        )
    else:
        cluster.record_event(
            sts,
            type="Warning",
            reason=f"Failed{verb.title()}",
            message=f"{verb} Pod {name_of(pod)} in StatefulSet {name_of(sts)} failed error: {err}",
        )


def create_pod(cluster: Cluster, sts: Obj, pod: Obj) -> Obj:
    """Create the pod's claims, then the pod, then settle the claims' owners."""
    try:
        claims.create_missing_claims(cluster, sts, pod)
    except PetsetError as err:
        pod_event(cluster, "create", sts, pod, err)
        raise
    to_create = dict(pod)
    to_create["status"] = {"phase": "Pending"}
    try:
        created = cluster.create(to_create)
    except AlreadyExistsError as err:
        # Upstream stops here too: a pod of this name that is not ours (released,
        # or made by hand) holds the member's identity until someone removes it.
        raise AlreadyExistsError(
            f"cannot create {name_of(pod)}: a Pod of that name exists that this StatefulSet "
            "does not own (its labels do not match spec.selector); delete or rename it"
        ) from err
    except PetsetError as err:
        pod_event(cluster, "create", sts, pod, err)
        raise
    try:
        claims.update_claims_for_policy(cluster, sts, created)
    except PetsetError as err:
        pod_event(cluster, "update", sts, created, err)
        raise
    pod_event(cluster, "create", sts, pod, None)
    return created


def delete_pod(cluster: Cluster, sts: Obj, pod: Obj) -> None:
    try:
        cluster.delete("Pod", name_of(pod), namespace_of(pod), uid=uid_of(pod) or None)
    except NotFoundError:
        return
    except PetsetError as err:
        pod_event(cluster, "delete", sts, pod, err)
        raise
    pod_event(cluster, "delete", sts, pod, None)


def update_pod(cluster: Cluster, sts: Obj, pod: Obj) -> None:
    """Restore a member's identity, storage and claim owners; retried on conflict."""
    for _ in range(_MAX_RETRIES):
        consistent = True
        if not identity_matches(sts, pod):
            update_identity(sts, pod)
            consistent = False
        if not storage_matches(sts, pod):
            update_storage(sts, pod)
            consistent = False
            claims.create_missing_claims(cluster, sts, pod)
        if not claims.claims_match_policy(cluster, sts, pod):
            claims.update_claims_for_policy(cluster, sts, pod)
        if consistent:
            return
        try:
            cluster.update(pod)
        except ConflictError:
            pod = cluster.get("Pod", name_of(pod), namespace_of(pod))
            continue
        except PetsetError as err:
            pod_event(cluster, "update", sts, pod, err)
            raise
        pod_event(cluster, "update", sts, pod, None)
        return
    raise ConflictError(f"Pod {name_of(pod)}: gave up updating after repeated conflicts")

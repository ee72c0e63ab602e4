"""A StatefulSet's PersistentVolumeClaims: creation, retention policy, expansion.

Claims are named `<template>-<set>-<ordinal>` and are created before their
pod; an existing claim with that name is reused (so a member finds its data
again, and an orphan claim from an earlier set of the same name is adopted).

Retention (Kubernetes' persistentVolumeClaimRetentionPolicy) is expressed
only through ownerReferences, as upstream does, and the garbage collector does
the deleting: `whenDeleted: Delete` makes the set an owner of every claim;
`whenScaled: Delete` makes a condemned pod (ordinal out of range) the owner of
its claims, so they go when it goes.

Expansion (petset's extension): when a template asks for more storage than an
existing claim holds, the claim's request is raised; the volumes controller
resizes. A smaller request is never applied (Kubernetes cannot shrink a
volume): a Warning Event says so.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from petset.api.errors import AlreadyExistsError, NotFoundError, PetsetError
from petset.api.meta import Obj, name_of, namespace_of, uid_of
from petset.api.units import parse_quantity
from petset.controllers.statefulset.identity import (
    claim_templates,
    claims_for,
    in_ordinal_range,
    ordinal_of,
)
from petset.runtime.cluster import Cluster

_OWNER_FIELDS = ("apiVersion", "kind", "name", "uid")


def _policy(sts: Obj) -> tuple[str, str]:
    policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted", "Retain"), policy.get("whenScaled", "Retain")


def has_owner(claim: Obj, owner: Obj) -> bool:
    refs = (claim.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == uid_of(owner) for r in refs)


def has_stale_owner(claim: Obj, pod: Obj) -> bool:
    """Owned by an earlier pod of the same name (its garbage collection is pending)."""
    refs = (claim.get("metadata") or {}).get("ownerReferences") or []
    return any(
        r.get("kind") == "Pod" and r.get("name") == name_of(pod) and r.get("uid") != uid_of(pod)
        for r in refs
    )


def desired_owners(sts: Obj, pod: Obj) -> tuple[bool, bool]:
    """(owned by the set?, owned by the pod?) as the retention policy wants it."""
    when_deleted, when_scaled = _policy(sts)
    scaled_down = not in_ordinal_range(pod, sts)
    by_pod = when_scaled == "Delete" and scaled_down
    by_set = when_deleted == "Delete" and not by_pod
    return by_set, by_pod


def owners_match(sts: Obj, pod: Obj, claim: Obj) -> bool:
    by_set, by_pod = desired_owners(sts, pod)
    return has_owner(claim, sts) == by_set and (not uid_of(pod) or has_owner(claim, pod) == by_pod)


def set_owners(sts: Obj, pod: Obj, claim: Obj) -> bool:
    """Make the claim's ownerReferences follow the policy; True when it changed."""
    by_set, by_pod = desired_owners(sts, pod)
    changed = _set_owner(claim, sts, "apps/v1", "StatefulSet", by_set)
    if uid_of(pod):
        changed = _set_owner(claim, pod, "v1", "Pod", by_pod) or changed
    return changed


def _set_owner(claim: Obj, owner: Obj, api_version: str, kind: str, wanted: bool) -> bool:
    md = claim.setdefault("metadata", {})
    refs: list[dict[str, Any]] = list(md.get("ownerReferences") or [])
    present = any(r.get("uid") == uid_of(owner) for r in refs)
    if present == wanted:
        return False
    if wanted:
        # Not a controller reference: upstream leaves claims without a controller.
        refs.append(
            {"apiVersion": api_version, "kind": kind, "name": name_of(owner), "uid": uid_of(owner)}
        )
    else:
        refs = [r for r in refs if r.get("uid") != uid_of(owner)]
    md["ownerReferences"] = refs
    return True


def claims_match_policy(cluster: Cluster, sts: Obj, pod: Obj) -> bool:
    for claim in claims_for(sts, ordinal_of(pod)).values():
        try:
            live = cluster.get("PersistentVolumeClaim", name_of(claim), namespace_of(sts))
        except NotFoundError:
            continue
        if not owners_match(sts, pod, live):
            return False
    return True


def update_claims_for_policy(cluster: Cluster, sts: Obj, pod: Obj) -> None:
    for claim in claims_for(sts, ordinal_of(pod)).values():
        try:
            live = cluster.get("PersistentVolumeClaim", name_of(claim), namespace_of(sts))
        except NotFoundError:
            continue
        if set_owners(sts, pod, live):
            refs = live["metadata"]["ownerReferences"]
            cluster.patch(
                "PersistentVolumeClaim",
                name_of(live),
                namespace_of(live),
                {"metadata": {"ownerReferences": refs}},
            )


def claim_is_stale(cluster: Cluster, sts: Obj, pod: Obj) -> bool:
    """A claim still owned by a deleted pod of this name: wait for it to be collected."""
    if _policy(sts)[1] == "Retain":
        return False
    for claim in claims_for(sts, ordinal_of(pod)).values():
        try:
            live = cluster.get("PersistentVolumeClaim", name_of(claim), namespace_of(sts))
        except NotFoundError:
            continue
        if has_stale_owner(live, pod):
            return True
    return False


def create_missing_claims(cluster: Cluster, sts: Obj, pod: Obj) -> list[str]:
    """Create the pod's claims that do not exist yet; returns the names created.

    Raises when a claim could not be created or is being deleted (the pod must
    not start without its storage).
    """
    created: list[str] = []
    problems: list[str] = []
    for claim in claims_for(sts, ordinal_of(pod)).values():
        cname = name_of(claim)
        try:
            live = cluster.get("PersistentVolumeClaim", cname, namespace_of(sts))
        except NotFoundError:
            set_owners(sts, pod, claim)
            try:
                cluster.create(claim)
            except AlreadyExistsError:
                continue
            except PetsetError as err:
                _claim_event(cluster, sts, pod, cname, err)
                problems.append(f"failed to create PVC {cname}: {err}")
                continue
            _claim_event(cluster, sts, pod, cname, None)
            created.append(cname)
            continue
        if (live.get("metadata") or {}).get("deletionTimestamp"):
            problems.append(f"pvc {cname} is being deleted")
    if problems:
        raise PetsetError("; ".join(problems))
    return created


def _claim_event(cluster: Cluster, sts: Obj, pod: Obj, claim: str, err: Exception | None) -> None:
    if err is None:
        cluster.record_event(
            sts,
            type="Normal",
            reason="SuccessfulCreate",
            message=f"create Claim {claim} Pod {name_of(pod)} in StatefulSet {name_of(sts)} "
            "success",
        )
    else:
        cluster.record_event(
            sts,
            type="Warning",
            reason="FailedCreate",
            message=f"create Claim {claim} for Pod {name_of(pod)} in StatefulSet "
            f"{name_of(sts)} failed error: {err}",
        )


# -- expansion (petset's extension) ------------------------------------------------
def _requested(claim: Obj) -> str | None:
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    value = requests.get("storage")
    return None if value is None else str(value)


def _quantity(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_quantity(text)
    except ValueError:
        return None


def expand_claims(cluster: Cluster, sts: Obj, claims: list[Obj]) -> list[str]:
    """Raise existing claims to their template's storage request; returns messages.

    `claims` are the namespace's PVCs; those named after one of the set's
    templates (`<template>-<set>-<ordinal>`) are the set's.
    """
    done: list[str] = []
    by_name = {name_of(c): c for c in claims}
    prefix_of = {name_of(t): f"{name_of(t)}-{name_of(sts)}-" for t in claim_templates(sts)}
    for template in claim_templates(sts):
        want_text = _requested(template)
        want = _quantity(want_text)
        if want is None:
            continue
        prefix = prefix_of[name_of(template)]
        for cname, claim in sorted(by_name.items()):
            if not cname.startswith(prefix) or not cname[len(prefix) :].isdigit():
                continue
            have = _quantity(_requested(claim))
            if have is None or have == want:
                continue
            if want > have:
                patch = {"spec": {"resources": {"requests": {"storage": want_text}}}}
                cluster.patch("PersistentVolumeClaim", cname, namespace_of(sts), patch)
                message = f"expanding claim {cname} from {_requested(claim)} to {want_text}"
                cluster.record_event(sts, type="Normal", reason="ExpandingClaim", message=message)
                done.append(message)
            else:
                cluster.record_event(
                    sts,
                    type="Warning",
                    reason="ShrinkIgnored",
                    message=f"claim {cname} keeps {_requested(claim)}: volumeClaimTemplate "
                    f"{name_of(template)} asks for {want_text}, and a volume cannot shrink; "
                    "restore the template's request to silence this",
                )
    return done

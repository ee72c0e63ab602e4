"""Who a StatefulSet pod is: ordinals, names, identity and health predicates.

Small pure functions over Kubernetes-shaped dicts, mirroring the predicates of
Kubernetes' `stateful_set_utils.go` (`getOrdinal`, `identityMatches`,
`storageMatches`, `isRunningAndReady`, ...).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from typing import Any

from petset.api.meta import Obj, labels_of, name_of, namespace_of, uid_of

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
PAUSED_ANNOTATION = "petset.dev/paused"

_POD_NAME = re.compile(r"^(.*)-([0-9]+)$")


# -- the set's spec, with the API defaults the controller relies on --------------
def with_defaults(sts: Obj) -> Obj:
    """A copy of `sts` with the few API defaults the algorithm needs filled in.

    The API layer applies the full defaults on admission; this only guards the
    controller against objects written before (or around) it.
    """
    out = copy.deepcopy(sts)
    out.setdefault("apiVersion", "apps/v1")
    out.setdefault("kind", "StatefulSet")
    spec = out.setdefault("spec", {})
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    spec.setdefault("podManagementPolicy", "OrderedReady")
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        if rolling.get("partition") is None:
            rolling["partition"] = 0
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    spec.setdefault("minReadySeconds", 0)
    spec.setdefault("serviceName", "")
    spec.setdefault("template", {})
    return out


def replicas_of(sts: Obj) -> int:
    return int(sts["spec"].get("replicas") or 0)


def start_ordinal(sts: Obj) -> int:
    return int(((sts["spec"].get("ordinals") or {}).get("start")) or 0)


def end_ordinal(sts: Obj) -> int:
    """The highest ordinal of a live replica (start - 1 when replicas is 0)."""
    return start_ordinal(sts) + replicas_of(sts) - 1


def partition_of(sts: Obj) -> int:
    rolling = sts["spec"]["updateStrategy"].get("rollingUpdate") or {}
    return int(rolling.get("partition") or 0)


def is_rolling_update(sts: Obj) -> bool:
    return bool(sts["spec"]["updateStrategy"].get("type") == "RollingUpdate")


def allows_burst(sts: Obj) -> bool:
    return bool(sts["spec"].get("podManagementPolicy") == "Parallel")


def min_ready_seconds(sts: Obj) -> int:
    return int(sts["spec"].get("minReadySeconds") or 0)


def is_paused(sts: Obj) -> bool:
    """petset's extension: `petset.dev/paused: "true"` holds rolling updates."""
    annotations = (sts.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"


def claim_templates(sts: Obj) -> list[Obj]:
    return list(sts["spec"].get("volumeClaimTemplates") or [])


# -- names and ordinals ------------------------------------------------------------
def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """`web-3` -> ("web", 3); ("", -1) when the name carries no ordinal."""
    match = _POD_NAME.match(name_of(pod))
    if not match:
        return "", -1
    ordinal = int(match.group(2))
    if ordinal >= 2**31:
        return "", -1
    return match.group(1), ordinal


def ordinal_of(pod: Obj) -> int:
    return parent_and_ordinal(pod)[1]


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{name_of(sts)}-{ordinal}"


def claim_name(sts: Obj, template_name: str, ordinal: int) -> str:
    return f"{template_name}-{name_of(sts)}-{ordinal}"


def is_member_of(sts: Obj, pod: Obj) -> bool:
    return parent_and_ordinal(pod)[0] == name_of(sts)


def in_ordinal_range(pod: Obj, sts: Obj) -> bool:
    ordinal = ordinal_of(pod)
    return start_ordinal(sts) <= ordinal <= end_ordinal(sts)


def identity_matches(sts: Obj, pod: Obj) -> bool:
    """Name, namespace, labels and network identity all those of a member of `sts`."""
    parent, ordinal = parent_and_ordinal(pod)
    spec = pod.get("spec") or {}
    labels = labels_of(pod)
    return (
        ordinal >= 0
        and parent == name_of(sts)
        and name_of(pod) == pod_name(sts, ordinal)
        and namespace_of(pod) == namespace_of(sts)
        and labels.get(POD_NAME_LABEL) == name_of(pod)
        and labels.get(POD_INDEX_LABEL) == str(ordinal)
        and spec.get("hostname") == name_of(pod)
        and spec.get("subdomain", "") == sts["spec"].get("serviceName", "")
    )


def update_identity(sts: Obj, pod: Obj) -> None:
    ordinal = ordinal_of(pod)
    md = pod.setdefault("metadata", {})
    md["name"] = pod_name(sts, ordinal)
    md["namespace"] = namespace_of(sts)
    labels = md.setdefault("labels", {})
    labels[POD_NAME_LABEL] = md["name"]
    labels[POD_INDEX_LABEL] = str(ordinal)
    spec = pod.setdefault("spec", {})
    spec["hostname"] = md["name"]
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    else:
        spec.pop("subdomain", None)


def claims_for(sts: Obj, ordinal: int) -> dict[str, Obj]:
    """The PVCs the pod at `ordinal` mounts, keyed by template name."""
    selector_labels = (sts["spec"].get("selector") or {}).get("matchLabels") or {}
    out: dict[str, Obj] = {}
    for template in claim_templates(sts):
        tname = name_of(template)
        claim = copy.deepcopy(template)
        claim["apiVersion"] = "v1"
        claim["kind"] = "PersistentVolumeClaim"
        md = claim.setdefault("metadata", {})
        md["name"] = claim_name(sts, tname, ordinal)
        md["namespace"] = namespace_of(sts)
        md["labels"] = {**(md.get("labels") or {}), **selector_labels}
        claim.pop("status", None)
        out[tname] = claim
    return out


def storage_matches(sts: Obj, pod: Obj) -> bool:
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    for tname, claim in claims_for(sts, ordinal).items():
        volume = volumes.get(tname)
        source = (volume or {}).get("persistentVolumeClaim") or {}
        if source.get("claimName") != name_of(claim):
            return False
    return True


def update_storage(sts: Obj, pod: Obj) -> None:
    """Point the pod's volumes at its claims, replacing same-named local volumes."""
    claims = claims_for(sts, ordinal_of(pod))
    spec = pod.setdefault("spec", {})
    volumes: list[dict[str, Any]] = [
        {"name": tname, "persistentVolumeClaim": {"claimName": name_of(claim)}}
        for tname, claim in claims.items()
    ]
    volumes += [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
    spec["volumes"] = volumes


def new_pod(sts: Obj, ordinal: int, revision: str) -> Obj:
    """A pod for `ordinal` from the set's template, labelled with `revision`."""
    template = sts["spec"].get("template") or {}
    tmeta = template.get("metadata") or {}
    md: dict[str, Any] = {
        "name": pod_name(sts, ordinal),
        "namespace": namespace_of(sts),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [
            {
                "apiVersion": sts.get("apiVersion", "apps/v1"),
                "kind": "StatefulSet",
                "name": name_of(sts),
                "uid": uid_of(sts),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if tmeta.get("annotations"):
        md["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        md["finalizers"] = list(tmeta["finalizers"])
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": md,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    update_identity(sts, pod)
    update_storage(sts, pod)
    md["labels"][REVISION_LABEL] = revision
    return pod


def pod_revision(pod: Obj) -> str:
    return labels_of(pod).get(REVISION_LABEL, "")


# -- health ------------------------------------------------------------------------
def phase_of(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_created(pod: Obj) -> bool:
    """Stored by the API (a pod we only planned has neither uid nor phase)."""
    return bool(uid_of(pod) or phase_of(pod))


def is_pending(pod: Obj) -> bool:
    return phase_of(pod) == "Pending"


def is_failed(pod: Obj) -> bool:
    return phase_of(pod) == "Failed"


def is_succeeded(pod: Obj) -> bool:
    return phase_of(pod) == "Succeeded"


def is_terminating(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def ready_condition(pod: Obj) -> dict[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def is_running_and_ready(pod: Obj) -> bool:
    if phase_of(pod) != "Running":
        return False
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def is_available(pod: Obj, min_ready: int, now: datetime) -> bool:
    """Ready for at least `min_ready` seconds (Kubernetes' IsPodAvailable)."""
    if not is_running_and_ready(pod):
        return False
    if min_ready <= 0:
        return True
    since = parse_time(str((ready_condition(pod) or {}).get("lastTransitionTime") or ""))
    return since is not None and since + timedelta(seconds=min_ready) < now


def is_healthy(pod: Obj) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


def is_unavailable(pod: Obj, min_ready: int, now: datetime) -> bool:
    return not is_healthy(pod) or not is_available(pod, min_ready, now)

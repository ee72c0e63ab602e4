"""Pure decisions of the Deployment controller (Kubernetes' deployment/util/deployment_util.go).

Everything here reads dicts and returns values; nothing talks to the cluster.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from petset.api.errors import InvalidError
from petset.api.meta import Obj, annotations_of, uid_of

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations a Deployment never copies to its ReplicaSets (and a rollback never copies back).
SKIPPED_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)
# Kubernetes caps the revision-history annotation at this many characters.
MAX_REVISION_HISTORY_CHARS = 2000
# math.MaxInt32 means "no deadline" / "keep every revision", as upstream.
MAX_INT32 = 2**31 - 1


def with_defaults(d: Obj) -> Obj:
    """A copy of the Deployment with the API defaults it relies on (if admission missed them)."""
    d = copy.deepcopy(d)
    spec = d.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("minReadySeconds", 0)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    return d


def spec_replicas(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


# -- surge and unavailability ------------------------------------------------------


def int_or_percent(value: Any, total: int, round_up: bool, field: str) -> int:
    """intstr.GetScaledValueFromIntOrPercent: 3 stays 3; '25%' of total, rounded as asked."""
    if isinstance(value, bool):
        raise InvalidError(f"{field}: must be an integer or a percentage like '25%'")
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise InvalidError(f"{field}: {text!r} is not an integer or a percentage like '25%'")
    scaled = int(text[:-1]) * total
    return -(-scaled // 100) if round_up else scaled // 100


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """Surge rounds up, unavailable rounds down; both zero becomes unavailable 1 so a
    rollout can always move."""
    field = "spec.strategy.rollingUpdate"
    surge = int_or_percent(
        0 if max_surge is None else max_surge, desired, True, f"{field}.maxSurge"
    )
    unavailable = int_or_percent(
        0 if max_unavailable is None else max_unavailable, desired, False, f"{field}.maxUnavailable"
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_rolling(d: Obj) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type") == "RollingUpdate"


def _fenceposts(d: Obj) -> tuple[int, int]:
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(
        rolling.get("maxSurge"), rolling.get("maxUnavailable"), spec_replicas(d)
    )


def max_surge(d: Obj) -> int:
    return _fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or spec_replicas(d) == 0:
        return 0
    return min(_fenceposts(d)[1], spec_replicas(d))


def has_progress_deadline(d: Obj) -> bool:
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return value is not None and int(value) != MAX_INT32


# -- replica set collections ---------------------------------------------------------


def total_spec(rss: list[Obj]) -> int:
    return sum(spec_replicas(rs) for rs in rss)


def total_status(rss: list[Obj], field: str) -> int:
    return sum(status_int(rs, field) for rs in rss)


def pods_upper_bound(rs: Obj) -> int:
    """Pods this ReplicaSet may have right now: its spec, or more while it still scales down.

    Upstream counts spec.replicas only; the manager's queue may run the Deployment
    before the ReplicaSet deleted its surplus, so petset bounds by the observed
    count too and never exceeds replicas + maxSurge in pods.
    """
    return max(spec_replicas(rs), status_int(rs, "replicas"))


def available_lower_bound(rs: Obj) -> int:
    """Available pods this ReplicaSet keeps once it reaches its spec (it deletes unavailable
    pods first), so a scale-down not yet carried out is not counted as availability."""
    return min(spec_replicas(rs), status_int(rs, "availableReplicas"))


def active(rss: list[Obj]) -> list[Obj]:
    return [rs for rs in rss if spec_replicas(rs) > 0]


def _created(rs: Obj) -> str:
    return str(rs["metadata"].get("creationTimestamp") or "")


def by_creation(rss: list[Obj]) -> list[Obj]:
    """Oldest first; same-second ties broken by name, as ReplicaSetsByCreationTimestamp."""
    return sorted(rss, key=lambda rs: (_created(rs), rs["metadata"]["name"]))


def by_size_newer(rss: list[Obj]) -> list[Obj]:
    """Largest first; ties newest first (who gets the extra pod when scaling up)."""
    ordered = list(reversed(by_creation(rss)))
    return sorted(ordered, key=lambda rs: -spec_replicas(rs))


def by_size_older(rss: list[Obj]) -> list[Obj]:
    """Largest first; ties oldest first (who loses a pod first when scaling down)."""
    return sorted(by_creation(rss), key=lambda rs: -spec_replicas(rs))


def by_revision(rss: list[Obj]) -> list[Obj]:
    ordered = by_creation(rss)
    return sorted(ordered, key=revision)


# -- revisions and annotations ---------------------------------------------------------


def revision(obj: Obj) -> int:
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: list[Obj]) -> int:
    return max([revision(rs) for rs in rss] or [0])


def last_revision(rss: list[Obj]) -> int:
    """The second highest revision: what `rollout undo` goes back to."""
    revs = sorted({revision(rs) for rs in rss}, reverse=True)
    return revs[1] if len(revs) > 1 else 0


def _annotations(obj: Obj) -> dict[str, str]:
    md = obj.setdefault("metadata", {})
    if md.get("annotations") is None:
        md["annotations"] = {}
    ann: dict[str, str] = md["annotations"]
    return ann


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    ann = _annotations(rs)
    changed = ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)
    ann[DESIRED_REPLICAS], ann[MAX_REPLICAS] = str(desired), str(maximum)
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations, raise the revision to `new_revision` (keeping the
    old one in revision-history when a rollback reuses this ReplicaSet); True if changed."""
    ann = _annotations(rs)
    changed = False
    for key, value in annotations_of(d).items():
        if key not in SKIPPED_ANNOTATIONS and ann.get(key) != value:
            ann[key] = value
            changed = True
    old_text = ann.get(REVISION)
    try:
        old = int(old_text) if old_text else 0
    except ValueError:
        return changed
    if old < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old_text:
            _append_history(ann, old_text)
    if not exists:
        changed |= set_replicas_annotations(rs, spec_replicas(d), spec_replicas(d) + max_surge(d))
    return changed


def _append_history(ann: dict[str, str], old: str) -> None:
    history = [r for r in ann.get(REVISION_HISTORY, "").split(",") if r] + [old]
    while len(",".join(history)) > MAX_REVISION_HISTORY_CHARS and len(history) > 1:
        history.pop(0)
    ann[REVISION_HISTORY] = ",".join(history)


def desired_annotation(rs: Obj) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS)


def _int_annotation(rs: Obj, key: str) -> int | None:
    try:
        return int(annotations_of(rs)[key])
    except (KeyError, ValueError):
        return None


# -- templates -------------------------------------------------------------------------


def _normalized(value: Any) -> Any:
    """Drop empty maps, lists and nulls: Kubernetes' semantic equality treats nil as empty."""
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def template_without_hash(template: Obj | None) -> Obj:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return t


def equal_ignore_hash(t1: Obj | None, t2: Obj | None) -> bool:
    return bool(_normalized(template_without_hash(t1)) == _normalized(template_without_hash(t2)))


def template_of(obj: Obj) -> Obj:
    template: Obj = (obj.get("spec") or {}).get("template") or {}
    return template


def find_new_rs(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash label)."""
    for rs in by_creation(rss):
        if equal_ignore_hash(template_of(rs), template_of(d)):
            return rs
    return None


def find_old_rss(d: Obj, rss: list[Obj]) -> list[Obj]:
    new = find_new_rs(d, rss)
    return [rs for rs in rss if new is None or uid_of(rs) != uid_of(new)]


def find_active_or_latest(new: Obj | None, olds: list[Obj]) -> Obj | None:
    """The only active ReplicaSet, or the newest when none is active; None when several are."""
    if new is None and not olds:
        return None
    olds_newest_first = list(reversed(by_creation(olds)))
    live = active([*olds_newest_first, *([new] if new else [])])
    if not live:
        return new if new is not None else olds_newest_first[0]
    return live[0] if len(live) == 1 else None


def get_proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    """How many of `to_add` replicas this ReplicaSet takes in a proportional scale."""
    if spec_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(rs: Obj, d: Obj) -> int:
    if spec_replicas(d) == 0:
        return -spec_replicas(rs)
    deployment_replicas = spec_replicas(d) + max_surge(d)
    annotated = _int_annotation(rs, MAX_REPLICAS)
    if not annotated:
        annotated = status_int(d, "replicas") or deployment_replicas
    size = spec_replicas(rs) * deployment_replicas / annotated
    # Go's math.Round: halves away from zero (Python's round() would go to even)
    return int(size + 0.5) - spec_replicas(rs)


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = desired_annotation(rs)
    n = spec_replicas(d)
    return spec_replicas(rs) == n and desired == n and status_int(rs, "availableReplicas") == n


def new_rs_new_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """The size the new ReplicaSet may grow to now (NewRSNewReplicas)."""
    if not is_rolling(d):
        return spec_replicas(d)
    current = sum(pods_upper_bound(rs) for rs in all_rss)
    max_total = spec_replicas(d) + max_surge(d)
    if current >= max_total:
        return spec_replicas(new_rs)
    grow = min(max_total - current, spec_replicas(d) - spec_replicas(new_rs))
    return spec_replicas(new_rs) + max(grow, 0)


# -- the pod-template-hash -------------------------------------------------------------

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """apimachinery's rand.SafeEncodeString: digits become vowel-free, look-alike-free letters."""
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def compute_hash(template: Obj, collision_count: int | None) -> str:
    """controller.ComputeHash: FNV-32a over the template (canonical JSON here, where Go hashes
    its struct dump), then the collision count as 8 little-endian bytes, safely encoded."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
    return safe_encode(str(fnv32a(data)))

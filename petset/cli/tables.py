"""kubectl's table columns per kind, for `petset get`.

Each kind maps to (headers, row function) and the extra columns of `-o wide`.
Cells are plain strings; columns are separated by three spaces as kubectl does,
so scripts that cut columns out of kubectl's output work on petset's too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from petset.api.meta import Obj

Row = Callable[[Obj], list[str]]


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """kubectl's HumanDuration: 45s, 3m20s, 47m, 5h3m, 2d4h, 120d."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    secs = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return f"{secs}s"
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if hours < 3:
        return f"{mins}m"
    if hours < 8:
        return f"{hours}h{mins % 60}m" if mins % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d"


def _md(o: Obj) -> dict[str, Any]:
    return o.get("metadata") or {}


def _spec(o: Obj) -> dict[str, Any]:
    return o.get("spec") or {}


def _status(o: Obj) -> dict[str, Any]:
    return o.get("status") or {}


def _created(o: Obj) -> str:
    return age(_md(o).get("creationTimestamp"))


def pod_status(o: Obj) -> str:
    """The STATUS column: the reason a container waits (CrashLoopBackOff) beats the phase."""
    if _md(o).get("deletionTimestamp"):
        return "Terminating"
    st = _status(o)
    for cs in st.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return "Init:" + str(state["waiting"]["reason"])
        if "terminated" not in state:
            total = len(st.get("initContainerStatuses") or [])
            done = sum(
                1
                for c in st.get("initContainerStatuses") or []
                if "terminated" in (c.get("state") or {})
            )
            return f"Init:{done}/{total}"
    for cs in st.get("containerStatuses") or []:
        state = cs.get("state") or {}
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason:
            return str(reason)
    return str(st.get("reason") or st.get("phase") or "Pending")


def _pod_ready(o: Obj) -> str:
    statuses = _status(o).get("containerStatuses") or []
    total = len(statuses) or len(_spec(o).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _restarts(o: Obj) -> str:
    return str(
        sum(int(c.get("restartCount") or 0) for c in _status(o).get("containerStatuses") or [])
    )


def _ports(o: Obj) -> str:
    parts = []
    for p in _spec(o).get("ports") or []:
        text = str(p.get("port"))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        parts.append(f"{text}/{p.get('protocol') or 'TCP'}")
    return ",".join(parts) or "<none>"


def _modes(modes: list[str] | None) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}  # fmt: skip
    return ",".join(short.get(m, m) for m in modes or [])


def _endpoints(o: Obj) -> str:
    addrs = []
    for sub in o.get("subsets") or []:
        ports = [p.get("port") for p in sub.get("ports") or []] or [None]
        for a in sub.get("addresses") or []:
            addrs += [f"{a.get('ip')}:{p}" if p else str(a.get("ip")) for p in ports]
    if not addrs:
        return "<none>"
    return ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")


def _images(o: Obj) -> tuple[str, str]:
    cs = ((_spec(o).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(str(c.get("name")) for c in cs), ",".join(str(c.get("image", "")) for c in cs)


COLUMNS: dict[str, tuple[list[str], Row]] = {
    "Pod": (
        ["READY", "STATUS", "RESTARTS", "AGE"],
        lambda o: [_pod_ready(o), pod_status(o), _restarts(o), _created(o)],
    ),
    "StatefulSet": (
        ["READY", "AGE"],
        lambda o: [
            f"{_status(o).get('readyReplicas') or 0}/{_spec(o).get('replicas', 1)}",
            _created(o),
        ],
    ),
    "Deployment": (
        ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        lambda o: [
            f"{_status(o).get('readyReplicas') or 0}/{_spec(o).get('replicas', 1)}",
            str(_status(o).get("updatedReplicas") or 0),
            str(_status(o).get("availableReplicas") or 0),
            _created(o),
        ],
    ),
    "ReplicaSet": (
        ["DESIRED", "CURRENT", "READY", "AGE"],
        lambda o: [
            str(_spec(o).get("replicas", 1)),
            str(_status(o).get("replicas") or 0),
            str(_status(o).get("readyReplicas") or 0),
            _created(o),
        ],
    ),
    "Service": (
        ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        lambda o: [
            str(_spec(o).get("type") or "ClusterIP"),
            str(_spec(o).get("clusterIP") or "<none>"),
            ",".join(_spec(o).get("externalIPs") or []) or "<none>",
            _ports(o),
            _created(o),
        ],
    ),
    "PersistentVolumeClaim": (
        ["STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"],
        lambda o: [
            str(_status(o).get("phase") or "Pending"),
            str(_spec(o).get("volumeName") or ""),
            str((_status(o).get("capacity") or {}).get("storage") or ""),
            _modes(_status(o).get("accessModes")),
            str(_spec(o).get("storageClassName") or "<unset>"),
            _created(o),
        ],
    ),
    "PersistentVolume": (
        ["CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "AGE"],
        lambda o: [
            str((_spec(o).get("capacity") or {}).get("storage") or ""),
            _modes(_spec(o).get("accessModes")),
            str(_spec(o).get("persistentVolumeReclaimPolicy") or "Retain"),
            str(_status(o).get("phase") or "Pending"),
            "/".join(
                str((_spec(o).get("claimRef") or {}).get(k) or "") for k in ("namespace", "name")
            ).strip("/"),
            str(_spec(o).get("storageClassName") or ""),
            _created(o),
        ],
    ),
    "ConfigMap": (
        ["DATA", "AGE"],
        lambda o: [str(len(o.get("data") or {}) + len(o.get("binaryData") or {})), _created(o)],
    ),
    "Secret": (
        ["TYPE", "DATA", "AGE"],
        lambda o: [
            str(o.get("type") or "Opaque"),
            str(len(o.get("data") or {}) + len(o.get("stringData") or {})),
            _created(o),
        ],
    ),
    "Namespace": (
        ["STATUS", "AGE"],
        lambda o: [str(_status(o).get("phase") or "Active"), _created(o)],
    ),
    "Endpoints": (["ENDPOINTS", "AGE"], lambda o: [_endpoints(o), _created(o)]),
    "StorageClass": (
        ["PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
        lambda o: [
            str(o.get("provisioner") or ""),
            str(o.get("reclaimPolicy") or "Delete"),
            str(o.get("volumeBindingMode") or "Immediate"),
            str(bool(o.get("allowVolumeExpansion"))).lower(),
            _created(o),
        ],
    ),
    "ControllerRevision": (
        ["CONTROLLER", "REVISION", "AGE"],
        lambda o: [
            "/".join(
                [
                    str((_owner(o) or {}).get("kind", "")).lower() + ".apps",
                    str((_owner(o) or {}).get("name", "")),
                ]
            )
            if _owner(o)
            else "<none>",
            str(o.get("revision", "")),
            _created(o),
        ],
    ),
    "Event": (
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        lambda o: [
            age(o.get("lastTimestamp") or o.get("eventTime")),
            str(o.get("type") or ""),
            str(o.get("reason") or ""),
            involved(o),
            str(o.get("message") or ""),
        ],
    ),
}

WIDE: dict[str, tuple[list[str], Row]] = {
    "Pod": (
        ["IP", "NODE"],
        lambda o: [
            str(_status(o).get("podIP") or "<none>"),
            str(_spec(o).get("nodeName") or "<none>"),
        ],
    ),
    "StatefulSet": (["CONTAINERS", "IMAGES"], lambda o: list(_images(o))),
    "Deployment": (["CONTAINERS", "IMAGES"], lambda o: list(_images(o))),
    "Service": (
        ["SELECTOR"],
        lambda o: [
            ",".join(f"{k}={v}" for k, v in (_spec(o).get("selector") or {}).items()) or "<none>"
        ],
    ),
}


def _owner(o: Obj) -> dict[str, Any] | None:
    for ref in _md(o).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def involved(o: Obj) -> str:
    inv = o.get("involvedObject") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def rows_for(kind: str, items: list[Obj], *, wide: bool, all_namespaces: bool) -> list[list[str]]:
    """Header row plus one row per object."""
    headers, row = COLUMNS.get(kind, ([], lambda o: []))
    if kind not in COLUMNS:
        headers, row = ["AGE"], lambda o: [_created(o)]
    extra_headers, extra = WIDE.get(kind, ([], lambda o: [])) if wide else ([], lambda o: [])
    first = ["NAMESPACE"] if all_namespaces else []
    # Events are read by what they are about (OBJECT), not by their generated names.
    named = kind != "Event"
    table = [[*first, *(["NAME"] if named else []), *headers, *extra_headers]]
    for o in items:
        ns = [str(_md(o).get("namespace") or "")] if all_namespaces else []
        name = [str(_md(o).get("name", ""))] if named else []
        table.append([*ns, *name, *row(o), *extra(o)])
    return table


def render(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines)

"""A pod's status as Kubernetes reports it, computed from its containers."""

from __future__ import annotations

import time
from typing import Any

from petset.api.meta import Obj, name_of, namespace_of, uid_of
from petset.node import decisions
from petset.node.containers import Container, iso


def container_id(pod: Obj, c: Container) -> str:
    return f"petset://{uid_of(pod)[:8]}-{c.name}-{max(c.record.restart_count, 0)}"


def _waiting(pod: Obj, c: Container, *, now: float) -> dict[str, Any]:
    if c.record.last_state and c.record.next_start_at > now:
        return {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {c.record.backoff_seconds:g}s restarting failed "
            f"container={c.name} pod={name_of(pod)}_{namespace_of(pod)}({uid_of(pod)})",
        }
    out: dict[str, Any] = {"reason": c.waiting_reason}
    if c.waiting_message:
        out["message"] = c.waiting_message
    return out


def container_status(pod: Obj, c: Container, *, now: float | None = None) -> Obj:
    now = time.time() if now is None else now
    inst = c.instance
    status: dict[str, Any] = {
        "name": c.name,
        "image": str(c.spec.get("image") or ""),
        "imageID": "",
        "restartCount": max(c.record.restart_count, 0),
        "ready": c.succeeded if c.init else c.ready,
        "started": c.started if not c.init else c.running,
        "lastState": {"terminated": dict(c.record.last_state)} if c.record.last_state else {},
    }
    if inst is not None and c.running:
        status["state"] = {"running": {"startedAt": iso(inst.started_at)}}
        status["containerID"] = container_id(pod, c)
    elif c.record.terminated:
        term = dict(c.record.terminated)
        term["containerID"] = container_id(pod, c)
        status["state"] = {"terminated": term}
        status["containerID"] = container_id(pod, c)
    else:
        status["state"] = {"waiting": _waiting(pod, c, now=now)}
    return status


def pod_status(
    pod: Obj,
    inits: list[Container],
    mains: list[Container],
    *,
    init_done: bool,
    pod_ip: str | None,
    start_time: float,
    previous: Obj | None,
) -> Obj:
    """The whole status block; conditions keep their lastTransitionTime when unchanged."""
    now = time.time()
    init_statuses = [container_status(pod, c, now=now) for c in inits]
    statuses = [container_status(pod, c, now=now) for c in mains]
    policy = str((pod.get("spec") or {}).get("restartPolicy") or "Always")
    phase = decisions.pod_phase(policy, init_statuses, statuses, init_done=init_done)
    ready = init_done and bool(mains) and all(s["ready"] for s in statuses)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": decisions.pod_conditions(
            (previous or {}).get("conditions") or [],
            initialized=init_done,
            containers_ready=ready,
            now=iso(now),
        ),
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "startTime": iso(start_time),
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    }
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if inits:
        status["initContainerStatuses"] = init_statuses
    return status

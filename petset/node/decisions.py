"""The kubelet's pure decisions: restarts, backoff, probe results, pod phase, conditions.

No processes and no clocks here: callers pass times in, so tests state the
rules as Kubernetes documents them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from petset.api.meta import Obj

# A container that ran this long without trouble gets its backoff reset (kubelet: 10 min).
BACKOFF_RESET_SECONDS = 600.0

ProbeKind = Literal["startup", "readiness", "liveness"]


def should_restart(policy: str, exit_code: int, *, init: bool = False) -> bool:
    """Whether a terminated container is started again under the pod's restartPolicy.

    Init containers that succeeded are done; failed ones are retried unless Never.
    """
    if init:
        return exit_code != 0 and policy != "Never"
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def restart_delay(consecutive: int, *, base: float, maximum: float) -> float:
    """Delay before restart number `consecutive` (0-based) of a crash loop.

    As the kubelet: the first restart is immediate, then base, 2*base, ... capped.
    """
    if consecutive <= 0:
        return 0.0
    return float(min(base * (2 ** (consecutive - 1)), maximum))


def termination_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


# -- probes -------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeState:
    """One probe's result as the kubelet keeps it: it flips only after `threshold`
    consecutive results of the other kind."""

    success: bool
    successes: int = 0
    failures: int = 0


def initial_probe_state(kind: ProbeKind) -> ProbeState:
    # Readiness starts failed, liveness succeeded, startup not-yet-started.
    return ProbeState(success=kind == "liveness")


def probe_thresholds(probe: Obj, kind: ProbeKind) -> tuple[int, int]:
    success = int(probe.get("successThreshold") or 1)
    if kind != "readiness":
        success = 1  # Kubernetes requires 1 for liveness and startup
    return success, int(probe.get("failureThreshold") or 3)


def probe_step(state: ProbeState, ok: bool, probe: Obj, kind: ProbeKind) -> ProbeState:
    success_threshold, failure_threshold = probe_thresholds(probe, kind)
    if ok:
        successes = state.successes + 1
        flipped = successes >= success_threshold
        return ProbeState(success=state.success or flipped, successes=successes, failures=0)
    failures = state.failures + 1
    flipped = failures >= failure_threshold
    return ProbeState(success=state.success and not flipped, successes=0, failures=failures)


def probe_timing(probe: Obj) -> tuple[float, float, float]:
    """(initialDelaySeconds, periodSeconds, timeoutSeconds) with Kubernetes' defaults."""
    return (
        float(probe.get("initialDelaySeconds") or 0),
        float(probe.get("periodSeconds") or 10),
        float(probe.get("timeoutSeconds") or 1),
    )


def _stopped(status: Obj) -> bool:
    state = status.get("state") or {}
    return "terminated" in state or ("waiting" in state and bool(status.get("lastState")))


def pod_phase(
    restart_policy: str,
    init_statuses: list[Obj],
    statuses: list[Obj],
    *,
    init_done: bool,
) -> str:
    """Kubernetes' getPhase over containerStatuses (and the init containers' outcome)."""
    if not init_done:
        for s in init_statuses:
            term = (s.get("state") or {}).get("terminated")
            if term and term.get("exitCode", 0) != 0 and restart_policy == "Never":
                return "Failed"
        return "Pending"
    running = sum(1 for s in statuses if "running" in (s.get("state") or {}))
    stopped = sum(1 for s in statuses if _stopped(s))
    succeeded = sum(
        1
        for s in statuses
        if ((s.get("state") or {}).get("terminated") or {}).get("exitCode", -1) == 0
    )
    waiting = len(statuses) - running - stopped
    if waiting == len(statuses):
        return "Pending"
    if running > 0:
        return "Running"
    if stopped == len(statuses):
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def pod_conditions(
    previous: list[Obj], *, initialized: bool, containers_ready: bool, now: str
) -> list[Obj]:
    """PodScheduled, Initialized, ContainersReady, Ready; lastTransitionTime moves only
    when a condition's status changes."""
    old = {c.get("type"): c for c in previous}
    wanted: list[tuple[str, bool, str]] = [
        ("PodScheduled", True, ""),
        ("Initialized", initialized, "ContainersNotInitialized"),
        ("ContainersReady", containers_ready, "ContainersNotReady"),
        ("Ready", containers_ready, "ContainersNotReady"),
    ]
    out: list[Obj] = []
    for type_, ok, reason in wanted:
        status = "True" if ok else "False"
        cond: dict[str, Any] = {"type": type_, "status": status}
        prior = old.get(type_)
        if prior and prior.get("status") == status:
            cond["lastTransitionTime"] = prior.get("lastTransitionTime", now)
        else:
            cond["lastTransitionTime"] = now
        if not ok:
            cond["reason"] = reason
        out.append(cond)
    return out

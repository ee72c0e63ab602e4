"""Restart policy, CrashLoopBackOff, probe thresholds, pod phase and conditions."""

from __future__ import annotations

import pytest

from petset.api.meta import Obj
from petset.node.decisions import (
    ProbeState,
    initial_probe_state,
    pod_conditions,
    pod_phase,
    probe_step,
    restart_delay,
    should_restart,
)


@pytest.mark.parametrize(
    ("policy", "code", "init", "want"),
    [
        ("Always", 0, False, True),
        ("Always", 1, False, True),
        ("OnFailure", 0, False, False),
        ("OnFailure", 2, False, True),
        ("Never", 1, False, False),
        ("Always", 0, True, False),
        ("Always", 1, True, True),
        ("OnFailure", 1, True, True),
        ("Never", 1, True, False),
    ],
)
def test_should_restart(policy: str, code: int, init: bool, want: bool) -> None:
    assert should_restart(policy, code, init=init) is want


def test_backoff_doubles_to_the_cap() -> None:
    delays = [restart_delay(n, base=10, maximum=300) for n in range(8)]
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]


def test_readiness_needs_success_threshold_and_flips_on_failures() -> None:
    probe = {"successThreshold": 2, "failureThreshold": 2}
    s = initial_probe_state("readiness")
    assert not s.success
    s = probe_step(s, True, probe, "readiness")
    assert not s.success
    s = probe_step(s, True, probe, "readiness")
    assert s.success
    s = probe_step(s, False, probe, "readiness")
    assert s.success  # one failure is not enough
    s = probe_step(s, True, probe, "readiness")
    s = probe_step(s, False, probe, "readiness")
    assert s.success  # the success in between reset the count
    s = probe_step(s, False, probe, "readiness")
    assert not s.success


def test_liveness_starts_healthy_and_ignores_success_threshold() -> None:
    probe = {"successThreshold": 5, "failureThreshold": 1}
    s = initial_probe_state("liveness")
    assert s.success
    s = probe_step(s, False, probe, "liveness")
    assert (s.success, s.failures) == (False, 1)
    assert probe_step(s, True, probe, "liveness").success
    assert initial_probe_state("startup") == ProbeState(success=False)


def running() -> Obj:
    return {"state": {"running": {}}}


def terminated(code: int) -> Obj:
    return {"state": {"terminated": {"exitCode": code}}}


def backoff() -> Obj:
    return {
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1}},
    }


def creating() -> Obj:
    return {"state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}


@pytest.mark.parametrize(
    ("policy", "statuses", "want"),
    [
        ("Always", [creating()], "Pending"),
        ("Always", [running(), creating()], "Running"),
        ("Always", [backoff()], "Running"),
        ("Always", [terminated(0)], "Running"),
        ("OnFailure", [terminated(0), terminated(0)], "Succeeded"),
        ("OnFailure", [terminated(0), terminated(1)], "Running"),
        ("Never", [terminated(0), terminated(1)], "Failed"),
        ("Never", [terminated(0)], "Succeeded"),
        ("Never", [running(), terminated(1)], "Running"),
    ],
)
def test_pod_phase(policy: str, statuses: list[Obj], want: str) -> None:
    assert pod_phase(policy, [], statuses, init_done=True) == want


def test_pod_phase_during_init() -> None:
    assert pod_phase("Always", [terminated(1)], [creating()], init_done=False) == "Pending"
    assert pod_phase("Never", [terminated(1)], [creating()], init_done=False) == "Failed"


def test_conditions_keep_transition_time_until_status_changes() -> None:
    first = pod_conditions([], initialized=True, containers_ready=False, now="t1")
    assert {c["type"]: c["status"] for c in first} == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "False",
        "Ready": "False",
    }
    second = pod_conditions(first, initialized=True, containers_ready=True, now="t2")
    times = {c["type"]: c["lastTransitionTime"] for c in second}
    assert times == {
        "PodScheduled": "t1",
        "Initialized": "t1",
        "ContainersReady": "t2",
        "Ready": "t2",
    }
    assert all("reason" not in c for c in second)

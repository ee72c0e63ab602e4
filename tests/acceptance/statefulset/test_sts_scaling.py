"""Scaling through the real daemon, after Kubernetes' e2e tests: predictable order that
halts on an unhealthy pod (OrderedReady), burst scaling past unhealthy pods
(Parallel), and no deadlock when a predecessor fails."""

from __future__ import annotations

import time

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import (
    Api,
    Tracker,
    break_pod,
    cleanup,
    headless_service,
    is_ready,
    pods_of,
    restore_pod,
    resume_pod,
    wait_for,
    wait_ready,
    web_set,
)

pytestmark = pytest.mark.acceptance

HOLD = 2.0  # seconds a halted set is watched to confirm it does not move


def _holds(api: Api, name: str, expect: list[str]) -> None:
    """For HOLD seconds the set keeps exactly the pods `expect`."""
    deadline = time.monotonic() + HOLD
    while time.monotonic() < deadline:
        assert sorted(pods_of(api, name)) == expect
        time.sleep(0.3)


def test_scaling_is_ordered_and_halts_on_an_unhealthy_pod(env: PetsetEnv, api: Api) -> None:
    api.apply(headless_service("ss"), web_set("ss", 1))
    wait_ready(api, "ss", ["ss-0"])

    # Scale up halts while ss-0 is unhealthy...
    break_pod(api, "ss-0")
    wait_for("ss-0 unready", lambda: not is_ready(api.get("Pod", "ss-0")))
    with Tracker(env, "ss") as up:
        env.ok("scale", "sts/ss", "--replicas", "3")
        _holds(api, "ss", ["ss-0"])
        described = env.ok("describe", "sts", "ss")
        assert "waiting for ss-0 to be Ready" in described, described
        # ...and proceeds in order once it is healthy again.
        restore_pod(api, "ss-0")
        wait_ready(api, "ss", ["ss-0", "ss-1", "ss-2"])
    assert up.before("ready ss-0", "created ss-1"), up.log
    assert up.before("ready ss-1", "created ss-2"), up.log

    # Scale down halts while the pods are unhealthy (an unhealthy condemned pod is only
    # removed when it is the first unhealthy one), then goes from the highest ordinal.
    names = ["ss-0", "ss-1", "ss-2"]
    for n in names:
        break_pod(api, n)
    wait_for("no pod ready", lambda: not any(map(is_ready, pods_of(api, "ss").values())))
    with Tracker(env, "ss") as down:
        env.ok("scale", "sts/ss", "--replicas", "0")
        _holds(api, "ss", names)
        for n in names:
            _restore_unless_leaving(api, n)
        wait_for("every pod gone", lambda: not pods_of(api, "ss"), 40)
    cleanup(api, "ss")
    assert down.index("gone ss-2") < down.leaving("ss-1"), down.log
    assert down.index("gone ss-1") < down.leaving("ss-0"), down.log


def _restore_unless_leaving(api: Api, pod: str) -> None:
    """restore_pod, unless the set is already removing the pod: once its predecessors
    are restored, an unhealthy condemned pod is the first unhealthy one and goes
    without waiting for its own restore."""
    try:
        restore_pod(api, pod)
    except Exception:
        left = api.get("Pod", pod)
        if left is not None and not left["metadata"].get("deletionTimestamp"):
            raise


def test_burst_scaling_runs_to_completion_with_unhealthy_pods(env: PetsetEnv, api: Api) -> None:
    api.apply(headless_service("burst"), web_set("burst", 1, policy="Parallel"))
    wait_ready(api, "burst", ["burst-0"])
    break_pod(api, "burst-0")
    wait_for("burst-0 unready", lambda: not is_ready(api.get("Pod", "burst-0")))

    env.ok("scale", "sts/burst", "--replicas", "3")
    pods = wait_for(
        "burst-1 and burst-2 Ready beside an unready burst-0",
        lambda: (
            (p := pods_of(api, "burst"))
            and sorted(p) == ["burst-0", "burst-1", "burst-2"]
            and is_ready(p["burst-1"])
            and is_ready(p["burst-2"])
            and p
        ),
    )
    assert not is_ready(pods["burst-0"])
    sts = wait_for(
        "status: 2 of 3 ready",
        lambda: (s := api.must("StatefulSet", "burst"))["status"].get("readyReplicas") == 2 and s,
    )
    assert sts["status"]["replicas"] == 3

    env.ok("scale", "sts/burst", "--replicas", "0")
    wait_for("every pod gone", lambda: not pods_of(api, "burst"), 30)
    cleanup(api, "burst")


def test_no_deadlock_when_a_predecessor_fails(env: PetsetEnv, api: Api) -> None:
    api.apply(headless_service("dl"), web_set("dl", 2, gated=True))
    wait_for("dl-0 running, unready", lambda: sorted(pods_of(api, "dl")) == ["dl-0"])
    _holds(api, "dl", ["dl-0"])
    resume_pod(api, "dl-0")
    pods = wait_for(
        "dl-1 running",
        lambda: (
            (p := pods_of(api, "dl"))
            and "dl-1" in p
            and p["dl-1"]["status"].get("phase") == "Running"
            and p
        ),
    )
    assert is_ready(pods["dl-0"]) and not is_ready(pods["dl-1"])

    # dl-1 is unhealthy; the healthy dl-0 is deleted: it must still be recreated.
    old = pods["dl-0"]["metadata"]["uid"]
    env.ok("delete", "pod", "dl-0")
    wait_for(
        "dl-0 recreated and Ready (its claim keeps the gate open)",
        lambda: (p := api.get("Pod", "dl-0")) and p["metadata"]["uid"] != old and is_ready(p),
        40,
    )
    resume_pod(api, "dl-1")
    wait_ready(api, "dl", ["dl-0", "dl-1"])
    cleanup(api, "dl")

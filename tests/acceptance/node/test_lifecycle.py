"""Restarts, crash-loop backoff, probes, logs, hooks and deletion, with real sandboxes."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.acceptance.node.conftest import NodeHarness

pytestmark = pytest.mark.acceptance


def test_crash_loop_backoff_grows(harness: NodeHarness) -> None:
    harness.create_pod(
        "crash", {"containers": [{"name": "app", "command": ["sh", "-c", "echo run; exit 3"]}]}
    )
    s = harness.wait(
        "CrashLoopBackOff",
        lambda: (
            harness.status_of("crash", "app").get("state", {}).get("waiting", {}).get("reason")
            == "CrashLoopBackOff"
            and harness.status_of("crash", "app")
        ),
    )
    assert s["lastState"]["terminated"]["exitCode"] == 3
    assert s["lastState"]["terminated"]["reason"] == "Error"
    assert harness.pod("crash")["status"]["phase"] == "Running"
    # Restarts come at 0, 0.4, 0.8, 1.6, 1.6 s: the gaps grow to the cap.
    starts: list[float] = []
    seen = -1
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline and len(starts) < 5:
        count = harness.status_of("crash", "app").get("restartCount", 0)
        if count != seen:
            seen = count
            starts.append(time.monotonic())
        time.sleep(0.02)
    gaps = [b - a for a, b in itertools.pairwise(starts[1:])]
    assert len(gaps) >= 3, starts
    assert gaps[0] < gaps[-1], gaps
    assert max(gaps) < 1.6 + 1.0, gaps
    events = [e["reason"] for e in harness.cluster.events]
    assert "BackOff" in events


def test_restart_policy_never_and_onfailure(harness: NodeHarness) -> None:
    harness.create_pod(
        "ok", {"restartPolicy": "OnFailure", "containers": [{"name": "app", "command": ["true"]}]}
    )
    harness.create_pod(
        "bad",
        {
            "restartPolicy": "Never",
            "containers": [{"name": "app", "command": ["sh", "-c", "exit 2"]}],
        },
    )
    harness.wait("Succeeded", lambda: harness.pod("ok")["status"]["phase"] == "Succeeded")
    harness.wait("Failed", lambda: harness.pod("bad")["status"]["phase"] == "Failed")
    term = harness.status_of("ok", "app")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    assert harness.status_of("bad", "app")["restartCount"] == 0


def test_failed_init_container_with_never_fails_the_pod(harness: NodeHarness) -> None:
    harness.create_pod(
        "initfail",
        {
            "restartPolicy": "Never",
            "initContainers": [{"name": "init", "command": ["sh", "-c", "exit 1"]}],
            "containers": [{"name": "app", "command": ["sleep", "300"]}],
        },
    )
    harness.wait("Failed", lambda: harness.pod("initfail")["status"]["phase"] == "Failed")
    st = harness.pod("initfail")["status"]
    assert st["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"


def test_readiness_flips_with_exec_probe(harness: NodeHarness) -> None:
    harness.create_pod(
        "rd",
        {
            "containers": [
                {
                    "name": "app",
                    "command": ["sleep", "300"],
                    "readinessProbe": {
                        "exec": {"command": ["test", "-f", "/tmp/ready"]},
                        "periodSeconds": 1,
                        "failureThreshold": 1,
                    },
                }
            ]
        },
    )
    harness.wait("running", lambda: "running" in harness.status_of("rd", "app").get("state", {}))
    time.sleep(1.2)
    assert not harness.ready("rd")
    harness.node.pod_exec("default", "rd", ["touch", "/tmp/ready"])
    harness.wait("ready", lambda: harness.ready("rd"))
    harness.node.pod_exec("default", "rd", ["rm", "/tmp/ready"])
    harness.wait("not ready", lambda: not harness.ready("rd"))
    assert harness.status_of("rd", "app")["restartCount"] == 0


def test_liveness_failure_restarts_and_logs_previous(harness: NodeHarness) -> None:
    harness.create_pod(
        "live",
        {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "app",
                    "command": [
                        "sh",
                        "-c",
                        "echo started $(date +%s%N); touch /tmp/alive; exec sleep 300",
                    ],
                    "livenessProbe": {
                        "exec": {"command": ["test", "-f", "/tmp/alive"]},
                        "periodSeconds": 1,
                        "failureThreshold": 2,
                    },
                    "startupProbe": {
                        "exec": {"command": ["test", "-f", "/tmp/alive"]},
                        "periodSeconds": 1,
                    },
                }
            ],
        },
    )
    harness.wait("started", lambda: harness.status_of("live", "app").get("started"))
    first = harness.node.pod_logs("default", "live")
    assert first.startswith("started ")
    harness.node.pod_exec("default", "live", ["rm", "/tmp/alive"])
    s = harness.wait(
        "restarted",
        lambda: (
            harness.status_of("live", "app").get("restartCount") == 1
            and harness.status_of("live", "app")
        ),
    )
    assert s["lastState"]["terminated"]["exitCode"] == 143  # SIGTERM from the kubelet
    harness.wait("running again", lambda: harness.status_of("live", "app").get("started"))
    assert harness.node.pod_logs("default", "live", previous=True) == first
    harness.wait("new log", lambda: harness.node.pod_logs("default", "live").startswith("started"))
    assert harness.node.pod_logs("default", "live") != first
    stamped = harness.node.pod_logs("default", "live", timestamps=True)
    assert stamped[:4].isdigit() and stamped.split(" ", 1)[1].startswith("started")
    reasons = {e["reason"] for e in harness.cluster.events}
    assert {"Unhealthy", "Killing", "Started"} <= reasons


def test_logs_tail_and_follow(harness: NodeHarness) -> None:
    harness.create_pod(
        "lg",
        {
            "restartPolicy": "Never",
            "containers": [
                {"name": "app", "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"]}
            ],
        },
    )
    harness.wait("done", lambda: harness.pod("lg")["status"]["phase"] == "Succeeded")
    assert harness.node.pod_logs("default", "lg", tail=2) == "line4\nline5\n"
    assert list(harness.node.follow_logs("default", "lg", tail=1)) == ["line5\n"]


def test_follow_streams_new_lines(harness: NodeHarness) -> None:
    harness.create_pod(
        "fl",
        {
            "containers": [
                {
                    "name": "app",
                    "command": ["sh", "-c", "for i in 1 2 3; do echo n$i; sleep 0.2; done"],
                }
            ]
        },
    )
    harness.wait("running", lambda: "running" in harness.status_of("fl", "app").get("state", {}))
    lines = list(harness.node.follow_logs("default", "fl"))
    assert lines == ["n1\n", "n2\n", "n3\n"]


def test_deletion_runs_prestop_and_keeps_pod_terminating(harness: NodeHarness) -> None:
    harness.create_pod(
        "del",
        {
            "terminationGracePeriodSeconds": 2,
            "volumes": [
                {
                    "name": "out",
                    "hostPath": {
                        "path": str(harness.settings.home / "out"),
                        "type": "DirectoryOrCreate",
                    },
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "command": [
                        "sh",
                        "-c",
                        "trap 'echo term >> /out/log; exit 0' TERM; while true; do sleep 0.1; done",
                    ],
                    "lifecycle": {
                        "preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /out/log"]}}
                    },
                    "volumeMounts": [{"name": "out", "mountPath": "/out"}],
                }
            ],
        },
    )
    harness.wait("ready", lambda: harness.ready("del"))
    pid = harness.node._container("default", "del", None).instance
    assert pid is not None
    harness.cluster.delete("Pod", "del", "default")
    # The finalizer keeps it visible (Terminating) until the sandbox is gone.
    assert harness.pod("del")["metadata"].get("deletionTimestamp")
    harness.wait("gone", lambda: not harness.cluster.list("Pod", "default"))
    assert (harness.settings.home / "out" / "log").read_text() == "prestop\nterm\n"
    from petset.node.sandbox import is_alive

    assert not is_alive(pid)

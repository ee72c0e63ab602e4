"""Pods as real bwrap sandboxes: identity, isolation, volumes, init order, serving on POD_IP."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from petset.node import sandbox
from tests.acceptance.node.conftest import NodeHarness

pytestmark = pytest.mark.acceptance

SLEEP = ["sh", "-c", "exec sleep 300"]


def test_hostname_tmp_and_pid_namespace(harness: NodeHarness) -> None:
    harness.create_pod(
        "web-0",
        {
            "containers": [
                {"name": "app", "command": ["sh", "-c", "echo hi > /tmp/mine; exec sleep 300"]},
                {"name": "side", "command": SLEEP},
            ]
        },
    )
    harness.wait("running", lambda: harness.pod("web-0")["status"]["phase"] == "Running")
    harness.wait("app ready", lambda: harness.status_of("web-0", "app")["ready"])
    node = harness.node
    assert node.pod_exec("default", "web-0", ["hostname"]).stdout == b"web-0\n"
    assert node.pod_exec("default", "web-0", ["cat", "/etc/hostname"]).stdout == b"web-0\n"
    # /tmp is the container's own: the sidecar does not see the app's file, nor does the host.
    assert node.pod_exec("default", "web-0", ["cat", "/tmp/mine"]).stdout == b"hi\n"
    side = node.pod_exec("default", "web-0", ["ls", "/tmp"], container="side")
    # Only petset's own code shows there, when the checkout itself lives under /tmp.
    runtime = {Path(p).parts[2] for p in sandbox.RUNTIME_PATHS if p.startswith("/tmp/")}
    assert set(side.stdout.decode().split()) == runtime
    # Own PID namespace: the app's view holds only its sandbox.
    ps = node.pod_exec("default", "web-0", ["sh", "-c", "ls /proc | grep -c '^[0-9]'"])
    assert int(ps.stdout) < 10
    pod = harness.pod("web-0")
    assert pod["spec"]["nodeName"] == "local"
    assert "petset.dev/kubelet" in pod["metadata"]["finalizers"]
    ip = pod["status"]["podIP"]
    assert ip.startswith("127.") and pod["status"]["hostIP"] == "127.0.0.1"
    env = node.pod_exec("default", "web-0", ["sh", "-c", "echo $HOSTNAME"]).stdout
    assert env == b"web-0\n"


def test_exec_exit_codes_stdin_and_timeout(harness: NodeHarness) -> None:
    harness.create_pod("ex", {"containers": [{"name": "app", "command": SLEEP}]})
    harness.wait("running", lambda: harness.status_of("ex", "app").get("ready"))
    node = harness.node
    assert node.pod_exec("default", "ex", ["sh", "-c", "exit 7"]).exit_code == 7
    r = node.pod_exec("default", "ex", ["cat"], stdin=b"piped")
    assert (r.exit_code, r.stdout) == (0, b"piped")
    t0 = time.monotonic()
    r = node.pod_exec("default", "ex", ["sleep", "30"], timeout=0.5)
    assert r.exit_code == 124 and time.monotonic() - t0 < 5
    argv = node.exec_argv("default", "ex", None)
    assert argv[0] == "nsenter"


def test_volume_at_missing_path_leaves_no_host_dir(harness: NodeHarness) -> None:
    target = f"/var/lib/petset-test-{uuid.uuid4().hex[:8]}"
    harness.create_pod(
        "vol",
        {
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [
                {
                    "name": "app",
                    "command": ["sh", "-c", f"echo stored > {target}/sub/f; exec sleep 300"],
                    "volumeMounts": [
                        {"name": "data", "mountPath": f"{target}/sub"},
                        {"name": "data", "mountPath": "/etc/petset-ro", "readOnly": True},
                    ],
                }
            ],
        },
    )
    harness.wait("ready", lambda: harness.status_of("vol", "app").get("ready"))
    node = harness.node
    harness.wait(
        "file",
        lambda: node.pod_exec("default", "vol", ["cat", f"{target}/sub/f"]).stdout == b"stored\n",
    )
    assert not os.path.exists(target)
    assert not os.path.exists("/etc/petset-ro")
    ro = node.pod_exec("default", "vol", ["sh", "-c", "echo x > /etc/petset-ro/g"])
    assert ro.exit_code != 0
    # The host filesystem is read-only inside.
    assert node.pod_exec("default", "vol", ["touch", "/usr/petset-x"]).exit_code != 0
    # Siblings of the expanded directories are still there.
    assert node.pod_exec("default", "vol", ["test", "-d", "/var/lib/dpkg"]).exit_code == 0


def test_init_containers_then_http_server_on_pod_ip(harness: NodeHarness) -> None:
    mount = [{"name": "www", "mountPath": "/www"}]
    harness.create_pod(
        "srv",
        {
            "volumes": [{"name": "www", "emptyDir": {}}],
            "initContainers": [
                {
                    "name": "first",
                    "command": ["sh", "-c", "echo one > /www/index.html"],
                    "volumeMounts": mount,
                },
                {
                    "name": "second",
                    "command": ["sh", "-c", "echo $(GREETING) >> /www/index.html"],
                    "env": [
                        {
                            "name": "POD_NAME",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        },
                        {"name": "GREETING", "value": "two-$(POD_NAME)-$$(x)"},
                    ],
                    "volumeMounts": mount,
                },
            ],
            "containers": [
                {
                    "name": "web",
                    "command": [
                        "python3",
                        "-m",
                        "http.server",
                        "--bind",
                        "$(POD_IP)",
                        "--directory",
                        "/www",
                        "8080",
                    ],
                    "env": [
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
                    ],
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {
                        "httpGet": {"path": "/", "port": "http"},
                        "periodSeconds": 1,
                    },
                    "volumeMounts": mount,
                }
            ],
        },
    )
    harness.wait("ready", lambda: harness.ready("srv"))
    pod = harness.pod("srv")
    body = urllib.request.urlopen(f"http://{pod['status']['podIP']}:8080/", timeout=5).read()
    assert body == b"one\ntwo-srv-\n"  # `$$(x)` reached the shell as `$(x)`: empty output
    inits = pod["status"]["initContainerStatuses"]
    assert [s["state"]["terminated"]["reason"] for s in inits] == ["Completed", "Completed"]
    conds = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conds == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }

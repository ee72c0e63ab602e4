"""Helpers for the network acceptance tests: random loopback addresses and test objects."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from petset.api.meta import ObjectKey
from petset.api.settings import Settings
from petset.controllers.services import controller
from petset.runtime.memory import MemoryCluster


def random_loopback() -> str:
    """A 127.x.y.z address few other tests will pick (127.0.0.0/16 and the petset
    defaults stay clear); binding it needs no setup since 127/8 routes to lo."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pod(
    name: str, ip: str, *, ready: bool = True, subdomain: str = "mysql", port: int = 1
) -> dict[str, Any]:
    """A pod as the kubelet leaves it: an IP and a Ready condition."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "db", "labels": {"app": "mysql"}},
        "spec": {
            "hostname": name,
            "subdomain": subdomain,
            "containers": [
                {"name": "c", "image": "x", "ports": [{"name": "sql", "containerPort": port}]}
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def service(name: str, *, headless: bool, port: int, target: int | str = "sql") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"app": "mysql"},
        "ports": [{"name": "sql", "port": port, "targetPort": target}],
    }
    if headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "db"},
        "spec": spec,
    }


def reconcile_all(cluster: MemoryCluster, settings: Settings) -> None:
    """What the controller manager would do after a change: reconcile every Service."""
    ctl = controller(settings)
    for svc in cluster.list("Service"):
        ctl.reconcile(cluster, ObjectKey("Service", "db", svc["metadata"]["name"]))


def set_ready(cluster: MemoryCluster, name: str, ready: bool) -> None:
    p = cluster.get("Pod", name, "db")
    p["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    cluster.update_status(p)


def eventually(check: Callable[[], bool], timeout: float = 2.0) -> float:
    """Seconds until `check()` held; AssertionError after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


# A member stand-in: greets every connection with its name, then echoes.
ECHO_SERVER = """
import socket, socketserver, sys
class H(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request.sendall(sys.argv[3].encode() + b"\\n")
        while data := self.request.recv(65536):
            self.request.sendall(data)
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"""


def start_echo(ip: str, port: int, name: str) -> subprocess.Popen[bytes]:
    """A real process that will listen on ip:port (see wait_listening); stop it by PID."""
    return subprocess.Popen([sys.executable, "-c", ECHO_SERVER, ip, str(port), name])


def wait_listening(ip: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((ip, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on {ip}:{port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

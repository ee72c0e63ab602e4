"""The daemon picks the kernel proxy as root, says so, and drops its rules with its pods."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from typing import Any

import pytest

from petset.node.kernelproxy import nft_works, table_name

from ..conftest import PetsetEnv

pytestmark = pytest.mark.acceptance
_PROBLEM = nft_works()
if _PROBLEM is not None:
    pytestmark = [pytestmark, pytest.mark.skip(reason=f"kernel proxy needs nftables: {_PROBLEM}")]

WEB: list[dict[str, Any]] = [
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "labels": {"app": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "python",
                    "command": ["python3", "-m", "http.server", "-b", "$(POD_IP)", "8080"],
                    "env": [
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
                    ],
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {
                        "tcpSocket": {"port": 8080},
                        "periodSeconds": 1,
                    },
                }
            ]
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    },
]


def table_exists(env: PetsetEnv) -> bool:
    listing = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return f"table ip {table_name(env.home)}" in listing.splitlines()


def test_daemon_serves_cluster_ips_from_the_kernel(petset_env: PetsetEnv) -> None:
    manifest = petset_env.write("web.json", json.dumps({"kind": "List", "items": WEB}))
    petset_env.ok("apply", "-f", str(manifest))
    status = petset_env.ok("daemon", "status")
    assert f"proxy:  kernel (nftables table ip {table_name(petset_env.home)})" in status
    cluster_ip = petset_env.json("get", "svc", "web")["spec"]["clusterIP"]
    deadline = time.monotonic() + 30
    body = ""
    while time.monotonic() < deadline and "Directory listing" not in body:
        try:
            with urllib.request.urlopen(f"http://{cluster_ip}/", timeout=2) as resp:
                body = resp.read().decode()
        except OSError:
            time.sleep(0.2)
    assert "Directory listing" in body, "the ClusterIP never reached the ready pod"
    assert table_exists(petset_env)
    petset_env.ok("daemon", "stop", "--pods")
    assert not table_exists(petset_env)

"""The node as an ordinary user: bwrap --unshare-user, exec through the user namespace."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.acceptance

SCRIPT = """
import logging, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from petset.api.settings import Settings
from petset.node.node import Node
from petset.runtime.memory import MemoryCluster

settings = Settings(home=Path(sys.argv[1]) / "home", pod_cidr=sys.argv[3])
cluster = MemoryCluster()
node = Node(settings, cluster, logger=logging.getLogger("unprivileged"))
node.start()
try:
    cluster.create({"kind": "Pod", "apiVersion": "v1",
                    "metadata": {"name": "u-0", "namespace": "default"},
                    "spec": {"volumes": [{"name": "d", "emptyDir": {}}], "containers": [{
                        "name": "app",
                        "command": ["sh", "-c", "echo hi > $(TARGET)/f; exec sleep 60"],
                        "env": [{"name": "TARGET", "value": sys.argv[4]}],
                        "volumeMounts": [{"name": "d", "mountPath": sys.argv[4]}]}]}})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        st = cluster.get("Pod", "u-0", "default").get("status") or {}
        if any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or []):
            break
        time.sleep(0.05)
    r = node.pod_exec("default", "u-0", ["sh", "-c", "hostname; id -u; cat " + sys.argv[4] + "/f"])
    print(os.geteuid(), r.exit_code, r.stdout.decode().split())
finally:
    node.shutdown_pods()
"""


def test_pods_run_for_an_ordinary_user() -> None:
    if os.geteuid() != 0 or not shutil.which("runuser") or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root to switch to 'nobody' and a system python3")
    root = Path(__file__).resolve().parents[3]
    work = Path(tempfile.mkdtemp(prefix="petset-unpriv-"))
    try:
        work.chmod(0o777)
        cidr = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"
        target = f"/var/lib/petset-unpriv-{random.randint(0, 10**9)}"
        done = subprocess.run(
            [
                "runuser",
                "-u",
                "nobody",
                "--",
                "/usr/bin/python3",
                "-c",
                textwrap.dedent(SCRIPT),
                str(work),
                str(root),
                cidr,
                target,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "ModuleNotFoundError" in done.stderr:
            pytest.skip(f"system python3 lacks a dependency: {done.stderr.strip()[-200:]}")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[0] == "65534 0 ['u-0', '0', 'hi']"
        assert not os.path.exists(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)

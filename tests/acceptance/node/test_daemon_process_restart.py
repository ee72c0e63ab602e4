"""The real thing: the daemon PROCESS dies (os._exit) with pods running; a new one adopts them.

Uses LocalCluster over the SQLite store, so the pods' objects survive the process.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from petset.api.settings import Settings
from petset.node import sandbox
from petset.node.node import Node
from petset.runtime.local import LocalCluster
from petset.store import Store
from tests.acceptance.node.conftest import random_cidr

pytestmark = pytest.mark.acceptance

FIRST_DAEMON = """
import logging, os, sys, time
from pathlib import Path
from petset.api.settings import Settings
from petset.node.node import Node
from petset.runtime.local import LocalCluster
from petset.store import Store

home, cidr = Path(sys.argv[1]), sys.argv[2]
settings = Settings(home=home, pod_cidr=cidr, backoff_base_seconds=0.4, backoff_max_seconds=1.6)
cluster = LocalCluster(Store(settings.db_path))
node = Node(settings, cluster, logger=logging.getLogger("first"))
node.start()
cluster.create({"kind": "Pod", "apiVersion": "v1",
                "metadata": {"name": "db-0", "namespace": "default"},
                "spec": {"containers": [{"name": "app", "command": ["sh", "-c",
                         "echo $$ > /tmp/pid; exec sleep 300"]}]}})
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    st = cluster.get("Pod", "db-0", "default").get("status") or {}
    if any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or []):
        os._exit(0)  # the daemon dies without stopping anything
    time.sleep(0.05)
os._exit(3)
"""


def test_new_daemon_process_adopts_running_sandbox(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cidr = random_cidr()
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FIRST_DAEMON), str(home), cidr], cwd=root, timeout=60
    )
    assert done.returncode == 0
    settings = Settings(home=home, pod_cidr=cidr, backoff_base_seconds=0.4, backoff_max_seconds=1.6)
    store = Store(settings.db_path)
    cluster = LocalCluster(store)
    before = cluster.get("Pod", "db-0", "default")["status"]
    node = Node(settings, cluster, logger=logging.getLogger("second"))
    cluster.set_pod_io(node)
    node.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                c = node._container("default", "db-0", None)
                if c.running:
                    break
            except Exception:
                pass
            time.sleep(0.05)
        inst = node._container("default", "db-0", None).instance
        assert inst is not None and sandbox.is_alive(inst)
        # Adopted, not restarted: same restartCount, same startedAt, exec reaches it.
        time.sleep(1.0)
        after = cluster.get("Pod", "db-0", "default")["status"]
        assert after["containerStatuses"] == before["containerStatuses"]
        assert after["podIP"] == before["podIP"]
        r = cluster.pod_exec("default", "db-0", ["hostname"])
        assert r.stdout == b"db-0\n"
    finally:
        node.shutdown_pods()
        store.close()
    assert not sandbox.is_alive(inst)

"""Cluster names inside pods of an unprivileged node: the DNS server cannot bind port 53,
so each pod's /etc/hosts carries the names, and follows the endpoints as they change."""

from __future__ import annotations

import json
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
import json, logging, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
sys.path.append(sys.argv[3])  # the venv's packages (dnslib), for the system python3
from petset.api.settings import Settings
from petset.controllers import services
from petset.node.clusterhosts import ClusterHosts
from petset.node.dns import ClusterDNS
from petset.node.node import Node
from petset.runtime.manager import Manager
from petset.runtime.memory import MemoryCluster

log = logging.getLogger("unprivileged-dns")
settings = Settings(home=Path(sys.argv[1]) / "home", pod_cidr=sys.argv[4],
                    dns_address=sys.argv[5], dns_port=53)
cluster = MemoryCluster()
manager = Manager(cluster, [services.controller(settings)], logger=log)
dns = ClusterDNS(settings, cluster, logger=log)
hosts = ClusterHosts(settings, dns, logger=log)
node = Node(settings, cluster, logger=log, network_files=hosts)
out = {}

def wait(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()

def getent(pod, *args):
    r = node.pod_exec("default", pod, ["getent", *args])
    return r.stdout.decode().split() if r.exit_code == 0 else [f"exit {r.exit_code}"]

def pod(name):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"hostname": name, "subdomain": "web", "containers": [{
                "name": "app", "command": ["sleep", "300"],
                "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1}}]}}

for part in (manager, node, dns, hosts):
    part.start()
try:
    out["dns_port"] = dns.bound_port
    cluster.create({"kind": "Service", "apiVersion": "v1",
                    "metadata": {"name": "web", "namespace": "default"},
                    "spec": {"clusterIP": "None", "selector": {"app": "web"},
                             "ports": [{"name": "http", "port": 80}]}})
    cluster.create(pod("web-0"))
    cluster.create(pod("web-1"))
    ip = lambda name: (cluster.get("Pod", name, "default").get("status") or {}).get("podIP")
    ready = lambda: wait(lambda: ip("web-0") and ip("web-1") and
                         getent("web-0", "hosts", "web-1.web")[0] == ip("web-1"))
    out["resolved"] = bool(ready())
    out["ips"] = {"web-0": ip("web-0"), "web-1": ip("web-1")}
    out["short"] = getent("web-0", "hosts", "web-1.web")
    out["fqdn"] = getent("web-1", "hosts", "web-0.web.default.svc.cluster.local")
    out["service"] = sorted(set(getent("web-0", "ahosts", "web")) & set(out["ips"].values()))
    out["link"] = node.pod_exec("default", "web-0", ["readlink", "/etc/hosts"]).stdout.decode()
    cluster.delete("Pod", "web-1", "default")
    out["after_delete"] = wait(lambda: getent("web-0", "hosts", "web-1.web") == ["exit 2"])
    out["service_after"] = sorted(set(getent("web-0", "ahosts", "web")) & set(out["ips"].values()))
finally:
    for part in (hosts, dns, manager):
        part.stop()
    node.shutdown_pods()
print(json.dumps(out))
"""


def test_cluster_names_resolve_in_pods_of_an_unprivileged_node() -> None:
    if os.geteuid() != 0 or not shutil.which("runuser") or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root to switch to 'nobody' and a system python3")
    root = Path(__file__).resolve().parents[3]
    venv_packages = next((root / ".venv" / "lib").glob("python3*/site-packages"), None)
    work = Path(tempfile.mkdtemp(prefix="petset-unpriv-dns-"))
    try:
        work.chmod(0o777)
        cidr = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"
        dns_ip = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.53"
        args = [str(work), str(root), str(venv_packages or ""), cidr, dns_ip]
        python = ["/usr/bin/python3", "-c", textwrap.dedent(SCRIPT)]
        done = subprocess.run(
            ["runuser", "-u", "nobody", "--", *python, *args],
            capture_output=True,
            text=True,
            timeout=90,
        )
        if "ModuleNotFoundError" in done.stderr:
            pytest.skip(f"system python3 lacks a dependency: {done.stderr.strip()[-200:]}")
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["dns_port"] != 53  # the reason for all this: no port 53 unprivileged
        ips = out["ips"]
        assert out["resolved"], (out, done.stderr[-3000:])
        assert out["short"][:2] == [ips["web-1"], "web-1.web.default.svc.cluster.local"]
        assert out["fqdn"][0] == ips["web-0"]
        assert out["service"] == sorted(ips.values())
        assert out["link"].strip() == "/run/petset/net/hosts"
        # web-1 left the endpoints: its names leave web-0's hosts file.
        assert out["after_delete"], out
        assert out["service_after"] == [ips["web-0"]]
    finally:
        shutil.rmtree(work, ignore_errors=True)

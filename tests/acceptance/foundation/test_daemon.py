"""The daemon as a process: crash safety, restart on first use, the token-protected TCP API."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import PetsetEnv, _free_port
from tests.acceptance.foundation.manifests import CONFIG_AND_STS, many_config_maps

pytestmark = pytest.mark.acceptance

BATCH = 8  # objects per apply: a torn batch would show as a partial set


def test_issue_2_done_when(petset_env: PetsetEnv) -> None:
    env = petset_env
    good = env.write("app.yaml", CONFIG_AND_STS.format(replicas=1))
    env.ok("apply", "-f", str(good))
    sts = env.json("get", "sts")["items"]
    assert len(sts) == 1
    md = sts[0]["metadata"]
    assert md["uid"] and md["resourceVersion"] and md["generation"] == 1
    before = {
        (o["kind"], o["metadata"]["name"]): (o["metadata"]["uid"], o.get("spec"), o.get("data"))
        for o in env.json("get", "cm,sts")["items"]
    }

    bad = env.write("bad.yaml", CONFIG_AND_STS.format(replicas="two"))
    res = env.run("apply", "-f", str(bad))
    assert res.returncode != 0
    assert "spec.replicas" in res.stderr and "Traceback" not in res.stderr
    after = {
        (o["kind"], o["metadata"]["name"]): (o["metadata"]["uid"], o.get("spec"), o.get("data"))
        for o in env.json("get", "cm,sts")["items"]
    }
    assert after == before

    old_pid = env.kill_daemon()
    res = env.run("get", "cm,sts", "-o", "name")
    assert res.returncode == 0, res.stderr
    assert "started daemon" in res.stderr
    assert res.stdout.split() == ["configmap/app-config", "statefulset.apps/app"]
    assert env.daemon_pid() not in (None, old_pid)


def _apply_loop(env: PetsetEnv, worker: int, stop: threading.Event, acked: list[str]) -> None:
    n = 0
    while not stop.is_set():
        prefix = f"w{worker}-b{n}"
        path = env.write(f"{prefix}.yaml", many_config_maps(prefix, BATCH))
        res = env.run("apply", "-f", str(path), timeout=60)
        if res.returncode == 0:
            acked.append(prefix)
        n += 1


def test_kill_9_during_applies_loses_no_acknowledged_write(petset_env: PetsetEnv) -> None:
    env = petset_env
    env.ok("daemon", "start")
    stop = threading.Event()
    acked: list[str] = []
    loops = [threading.Thread(target=_apply_loop, args=(env, w, stop, acked)) for w in range(3)]
    for t in loops:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 0.5))  # land the kill at some point inside an apply
    env.kill_daemon()
    stop.set()
    for t in loops:
        t.join(90)
    assert len(acked) >= 3

    names = set(env.ok("get", "cm", "-o", "name").split())  # restarts the daemon
    present: dict[str, int] = {}
    for name in names:
        prefix = name.removeprefix("configmap/").rsplit("-", 1)[0]
        present[prefix] = present.get(prefix, 0) + 1
    for prefix in acked:
        assert present.get(prefix) == BATCH, f"acknowledged batch {prefix} is not all there"
    torn = {p: n for p, n in present.items() if n != BATCH}
    assert not torn, f"half-applied batches: {torn}"


def _token(home: Path) -> str:
    return (home / "token").read_text().strip()


def test_tcp_listener_requires_the_token(petset_env: PetsetEnv) -> None:
    env = petset_env
    refused = env.run("daemon", "start", "--listen", "10.1.2.3:8443")
    assert refused.returncode == 1 and "loopback" in refused.stderr

    host = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.9"
    address = f"{host}:{_free_port(host)}"
    env.ok("daemon", "start", "--listen", address)
    token_file = env.home / "token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert (env.home / "petset.sock").stat().st_mode & 0o777 == 0o600

    url = f"http://{address}/v1/objects/ConfigMap"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = httpx.get(url, headers={"Authorization": f"Bearer {_token(env.home)}"})
    assert ok.status_code == 200 and ok.json()["kind"] == "List"

    remote = PetsetEnv(env.home, {**env.env, "PETSET_SERVER": f"http://{address}"})
    res = remote.run("get", "cm")
    assert res.returncode == 1 and "token" in res.stderr
    remote.env["PETSET_TOKEN"] = _token(env.home)
    assert remote.run("version").returncode == 0

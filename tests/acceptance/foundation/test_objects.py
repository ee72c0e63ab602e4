"""apply / get / describe / delete through the real daemon, as a user would type them."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.foundation.manifests import CONFIG_AND_STS, config_map

pytestmark = pytest.mark.acceptance


def _settled(env: PetsetEnv, *args: str, quiet: float = 0.6, timeout: float = 15) -> Any:
    """The object once no controller has written it for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last = env.json("get", *args)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = env.json("get", *args)
        if now["metadata"]["resourceVersion"] == last["metadata"]["resourceVersion"]:
            return now
        last = now
    raise AssertionError(f"{args} kept changing for {timeout} s")


def test_apply_get_describe_delete_round_trip(petset_env: PetsetEnv) -> None:
    env = petset_env
    path = env.write("app.yaml", CONFIG_AND_STS.format(replicas=0))
    res = env.run("apply", "-f", str(path))
    assert res.returncode == 0, res.stderr
    created = ["configmap/app-config created", "statefulset.apps/app created"]
    assert res.stdout.splitlines() == created
    assert "started daemon" in res.stderr  # the first command started it, and said so

    table = env.ok("get", "sts").splitlines()
    assert table[0].split() == ["NAME", "READY", "AGE"]
    assert table[1].split()[:2] == ["app", "0/0"]
    assert env.ok("get", "cm", "app-config", "-o", "name").strip() == "configmap/app-config"
    sts = env.json("get", "statefulset.apps/app")
    assert sts["spec"]["template"]["spec"]["containers"][0]["command"] == ["sleep", "3600"]

    described = env.ok("describe", "sts", "app")
    assert "Name:" in described and "app" in described
    assert "Selector:" in described and "app=app" in described
    assert "Events:" in described

    assert env.ok("delete", "sts", "app").strip() == 'statefulset.apps "app" deleted'
    gone = env.run("get", "sts", "app")
    assert gone.returncode == 1
    assert "not found" in gone.stderr and "Traceback" not in gone.stderr
    # delete -f deletes what is there and reports what is not (exit 1, as kubectl).
    res = env.run("delete", "-f", str(path))
    assert res.returncode == 1
    assert res.stdout.strip() == 'configmap "app-config" deleted'
    assert "not found" in res.stderr
    assert env.run("get", "cm", "app-config").returncode == 1


def test_reapply_is_a_no_op(petset_env: PetsetEnv) -> None:
    env = petset_env
    path = env.write("app.yaml", CONFIG_AND_STS.format(replicas=0))
    env.ok("apply", "-f", str(path))
    sts = _settled(env, "sts", "app")
    cm = env.json("get", "cm", "app-config")
    events = env.json("get", "events", "-A")["items"]

    again = env.ok("apply", "-f", str(path))
    assert again.splitlines() == [
        "configmap/app-config unchanged",
        "statefulset.apps/app unchanged",
    ]
    sts2 = env.json("get", "sts", "app")
    cm2 = env.json("get", "cm", "app-config")
    assert sts2["metadata"]["resourceVersion"] == sts["metadata"]["resourceVersion"]
    assert sts2["metadata"]["generation"] == sts["metadata"]["generation"] == 1
    assert cm2["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]
    assert env.json("get", "events", "-A")["items"] == events

    # A real change is applied and bumps the generation.
    env.ok("apply", "-f", str(env.write("app.yaml", CONFIG_AND_STS.format(replicas=1))))
    assert env.json("get", "sts", "app")["metadata"]["generation"] == 2


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return q


def _wait_line(q: queue.Queue[str], want: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = q.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if want in line:
            return line
    raise AssertionError(f"no line with {want!r} in {seen}")


def test_get_watch_prints_changes(petset_env: PetsetEnv) -> None:
    env = petset_env
    env.ok("apply", "-f", str(env.write("a.yaml", config_map("first"))))
    watch = env.popen("get", "cm", "-w")
    try:
        lines = _lines(watch)
        _wait_line(lines, "NAME")
        _wait_line(lines, "first")
        env.ok("apply", "-f", str(env.write("b.yaml", config_map("second"))))
        row = _wait_line(lines, "second")
        assert row.split()[:2] == ["second", "1"]
        env.ok("delete", "cm", "first")
        _wait_line(lines, "first")  # the deletion is a change too
    finally:
        watch.terminate()
        watch.wait(10)

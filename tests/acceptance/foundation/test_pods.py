"""logs and exec on a real pod, through the daemon."""

from __future__ import annotations

import time

import pytest

from tests.acceptance.conftest import PetsetEnv

pytestmark = pytest.mark.acceptance

TALKER = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: talker
spec:
  serviceName: talker
  replicas: 1
  selector:
    matchLabels: {app: talker}
  template:
    metadata:
      labels: {app: talker}
    spec:
      containers:
        - name: main
          image: debian:12
          command: ["sh", "-c", "echo hello from $(hostname); exec sleep 3600"]
"""


def _wait_running(env: PetsetEnv, pod: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = env.run("get", "pod", pod, "-o", "json")
        if res.returncode == 0 and '"phase": "Running"' in res.stdout:
            return
        time.sleep(0.5)
    raise AssertionError(f"{pod} not Running after {timeout} s: {env.run('describe', 'pod', pod)}")


def test_logs_and_exec_pass_output_and_exit_code_through(petset_env: PetsetEnv) -> None:
    env = petset_env
    env.ok("apply", "-f", str(env.write("talker.yaml", TALKER)))
    _wait_running(env, "talker-0")

    deadline = time.monotonic() + 20
    while "hello from talker-0" not in env.ok("logs", "talker-0"):
        assert time.monotonic() < deadline, "the container's output never reached its log"
        time.sleep(0.3)
    assert env.ok("logs", "pod/talker-0", "--tail", "1").strip() == "hello from talker-0"

    res = env.run("exec", "talker-0", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (res.returncode, res.stdout, res.stderr) == (7, "out\n", "err\n")
    assert env.ok("exec", "-i", "talker-0", "--", "tr", "a-z", "A-Z", input="pets\n") == "PETS\n"

    missing = env.run("exec", "nope-0", "--", "true")
    assert missing.returncode == 1 and "nope-0" in missing.stderr

"""Fixtures for acceptance tests: a private petset home and the real `petset` command.

`petset_env` gives each test its own PETSET_HOME, random loopback ranges for
pod IPs, service IPs and cluster DNS (other suites run on this machine at the
same time), and a short CrashLoopBackOff. Teardown stops exactly what the test
started: the daemon by the pid in its pid file (SIGTERM, then SIGKILL), then
any sandbox the node recorded under pods/ (by the recorded pid and start time,
so a recycled pid is never hit).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.harness import alive as _alive
from bench.harness import free_port as _free_port
from bench.harness import petset_argv
from bench.harness import wait_gone as _wait_gone

REPO = Path(__file__).resolve().parents[2]


@dataclass
class PetsetEnv:
    home: Path
    env: dict[str, str]

    def run(
        self, *args: str, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run `petset ARGS...` to completion; output as text."""
        return subprocess.run(
            [*petset_argv(), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            cwd=REPO,
        )

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run, assert exit 0, return stdout."""
        res = self.run(*args, input=input)
        assert res.returncode == 0, f"petset {' '.join(args)}: {res.stdout}\n{res.stderr}"
        return res.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start `petset ARGS...` (e.g. a watch) in the background; the test stops it."""
        return subprocess.Popen(
            [*petset_argv(), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=REPO,
        )

    def write(self, name: str, text: str) -> Path:
        path = self.home.parent / name
        path.write_text(text)
        return path

    @property
    def pid_path(self) -> Path:
        return self.home / "daemon.pid"

    def daemon_pid(self) -> int | None:
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def kill_daemon(self) -> int:
        """kill -9 the daemon (as a crash would); returns its pid."""
        pid = self.daemon_pid()
        assert pid is not None, "no daemon runs"
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 10)
        return pid


def stop_daemon(env: PetsetEnv) -> None:
    pid = env.daemon_pid()
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, 15):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5)


def stop_sandboxes(home: Path) -> None:
    """Kill every sandbox the node recorded in this home (pods outlive the daemon)."""
    from petset.node import sandbox

    for record_path in home.glob("pods/*/containers/*.json"):
        try:
            record = json.loads(record_path.read_text())
            inst = sandbox.Instance(**record["instance"]) if record.get("instance") else None
        except (OSError, ValueError, TypeError):
            continue
        if inst is not None:
            sandbox.kill_sandbox(inst)


@contextlib.contextmanager
def make_env(base: Path) -> Iterator[PetsetEnv]:
    """A PetsetEnv under `base`; on exit stops its daemon and the pods it left."""
    home = base / "home"
    a, b = random.randint(100, 250), random.randint(0, 255)
    dns_ip = f"127.{a}.{b}.53"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETSET_")}
    env.update(
        {
            "PETSET_HOME": str(home),
            "PETSET_POD_CIDR": f"127.{a}.{b}.0/26",
            "PETSET_SERVICE_CIDR": f"127.{a}.{b}.128/26",
            "PETSET_DNS_ADDRESS": dns_ip,
            # Port 53 when free: resolv.conf cannot name a port, so pods resolve
            # cluster names (etcd peers, replicas) only through port 53.
            "PETSET_DNS_PORT": str(_free_port(dns_ip, prefer=53)),
            "PETSET_BACKOFF_BASE": "0.5",
            "PETSET_BACKOFF_MAX": "2",
            "PETSET_START_TIMEOUT": "30",
        }
    )
    petset = PetsetEnv(home, env)
    try:
        yield petset
    finally:
        with contextlib.suppress(Exception):
            if petset.daemon_pid() is not None:
                petset.run("daemon", "stop", "--pods", timeout=60)
        stop_daemon(petset)
        stop_sandboxes(home)


@pytest.fixture
def petset_env(tmp_path: Path) -> Iterator[PetsetEnv]:
    with make_env(tmp_path) as env:
        yield env


@pytest.fixture(scope="module")
def shared_petset_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PetsetEnv]:
    """One daemon for a module of tests that leave the store as they found it."""
    with make_env(tmp_path_factory.mktemp("petset")) as env:
        yield env

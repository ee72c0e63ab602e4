"""Real MariaDB members for engine tests, without the daemon: the same member
commands a pod runs (config, init-data, agent, mariadbd) as plain processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from petset.engines.mysql import member, sql


@dataclass
class Member:
    env: member.Env
    home: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def ip(self) -> str:
        return self.env.pod_ip

    def environ(self) -> dict[str, str]:
        e = self.env
        return {
            **os.environ,
            "POD_NAME": e.pod_name,
            "POD_IP": e.pod_ip,
            "POD_NAMESPACE": e.namespace,
            "SERVICE_NAME": e.service,
            "DATADIR": str(e.datadir),
            "CONFDIR": str(e.confdir),
            "MYSQL_SOCKET": e.socket,
            "CLUSTER_JSON": str(e.cluster_json),
            "ADMIN_PASSWORD": e.admin.password,
            "REPLICATION_PASSWORD": e.repl.password,
            "APP_PASSWORD": e.app_password,
            "AGENT_PORT": str(e.agent_port),
        }

    def start_mariadbd(self) -> None:
        log = open(self.home / "mariadbd.log", "ab")  # noqa: SIM115 - owned by the process
        self.procs["mariadbd"] = subprocess.Popen(
            ["mariadbd", f"--defaults-file={self.env.confdir / 'my.cnf'}"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_for(lambda: _answers(self), 20, f"mariadbd on {self.ip}")

    def start_agent(self) -> None:
        log = open(self.home / "agent.log", "ab")  # noqa: SIM115
        self.procs["agent"] = subprocess.Popen(
            [sys.executable, "-m", "petset.engines.mysql.member", "agent"],
            env=self.environ(),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_for(lambda: member.peer_status(self.ip, self.env.agent_port) is not None, 10, "agent")

    def kill(self, name: str = "mariadbd", sig: int = signal.SIGKILL) -> None:
        p = self.procs.get(name)
        if p and p.poll() is None:
            os.kill(p.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                p.wait(30)

    def stop_all(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                os.kill(p.pid, signal.SIGKILL if name == "agent" else signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(5)


def _answers(m: Member) -> bool:
    try:
        sql.observe(m.ip, m.env.admin)
        return True
    except sql.MemberUnreachable:
        return False


def wait_for(cond: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def make_member(root: Path, ordinal: int, subnet: str) -> Member:
    home = root / f"m{ordinal}"
    home.mkdir(parents=True)
    (home / "cluster.json").write_text('{"semiSync": true, "semiSyncTimeoutMs": 2000}')
    env = member.Env(
        pod_name=f"db-{ordinal}",
        pod_ip=f"{subnet}.{ordinal + 1}",
        namespace="default",
        service="db",
        cluster_domain="cluster.local",
        datadir=home / "data",
        confdir=home / "conf",
        socket=str(home / "run" / "mysqld.sock"),
        cluster_json=home / "cluster.json",
        admin=sql.Credentials("petset_admin", "admin-secret"),
        repl=sql.Credentials("petset_repl", "repl-secret"),
        app_password="app-secret",
        initialized=False,
        agent_port=8306,
    )
    return Member(env, home)


def random_subnet() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"


def members(root: Path, n: int) -> Iterator[list[Member]]:
    subnet = random_subnet()
    ms = [make_member(root, i, subnet) for i in range(n)]
    try:
        yield ms
    finally:
        for m in ms:
            m.stop_all()

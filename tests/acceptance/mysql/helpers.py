"""Helpers shared by the MySQL acceptance tests: waiting, and a cluster as a user sees it."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import pymysql

from tests.acceptance.conftest import PetsetEnv


def wait_until(cond: Any, timeout: float, what: str, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Db:
    env: PetsetEnv
    name: str = "mysql"

    def status(self) -> dict[str, Any]:
        obj = self.env.json("get", "mysqlcluster", self.name)
        return dict(obj.get("status") or {})

    def healthy(self, n: int = 3) -> dict[str, Any] | None:
        st = self.status()
        members = st.get("members") or []
        ok = st.get("phase") == "Ready" and sum(1 for m in members if m.get("healthy")) == n
        return st if ok else None

    def service_ip(self, svc: str) -> str:
        return str(self.env.json("get", "svc", svc)["spec"]["clusterIP"])

    def password(self) -> str:
        secret = self.env.json("get", "secret", f"{self.name}-credentials")
        return base64.b64decode(secret["data"]["app-password"]).decode()

    def connect(self, host: str) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(
            host=host,
            user="app",
            password=self.password(),
            autocommit=True,
            connect_timeout=2,
            read_timeout=5,
            write_timeout=5,
        )

    def kill_mariadbd(self, member: str, signal: str = "KILL") -> None:
        self.env.ok("exec", member, "-c", "mariadbd", "--", "sh", "-c",
                    f"kill -{signal} $(pidof mariadbd)")  # fmt: skip

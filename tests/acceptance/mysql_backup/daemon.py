"""Helpers for backup tests that run MySQL clusters under the real daemon."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pymysql

from tests.acceptance.conftest import PetsetEnv


def wait_until(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def admin(env: PetsetEnv, cluster: str) -> str:
    secret = env.json("get", "secret", f"{cluster}-credentials")
    return base64.b64decode(secret["data"]["admin-password"]).decode()


def ready(env: PetsetEnv, cluster: str, n: int) -> dict[str, Any] | None:
    st = env.json("get", "mysqlcluster", cluster).get("status") or {}
    healthy = [m for m in st.get("members") or [] if m.get("healthy")]
    return st if st.get("phase") == "Ready" and len(healthy) == n else None


def apply(env: PetsetEnv, obj: dict[str, Any]) -> None:
    name = f"{obj['kind'].lower()}-{obj['metadata']['name']}.json"
    env.ok("apply", "-f", str(env.write(name, json.dumps(obj))))


def mysqlcluster(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "MySQLCluster",
        "metadata": {"name": name},
        "spec": spec,
    }


def sql_on(env: PetsetEnv, cluster: str, ip: str, *statements: str) -> Any:
    """Run statements as petset_admin on one member; the last one's rows."""
    conn = pymysql.connect(
        host=ip, user="petset_admin", password=admin(env, cluster), autocommit=True
    )
    try:
        with conn.cursor() as cur:
            rows: Any = ()
            for s in statements:
                cur.execute(s)
                rows = cur.fetchall()
        return rows
    finally:
        conn.close()


def primary_ip(env: PetsetEnv, cluster: str) -> tuple[str, str]:
    st = env.json("get", "mysqlcluster", cluster)["status"]
    m = next(m for m in st["members"] if m["name"] == st["primary"])
    return str(m["name"]), str(m["ip"])

"""examples/etcd and examples/redis, applied as a user would and checked from inside pods."""

from __future__ import annotations

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import Api, is_ready, wait_for, wait_ready

pytestmark = pytest.mark.acceptance

ETCD = ["etcd-0", "etcd-1", "etcd-2"]
ENDPOINTS = ",".join(f"http://{m}.etcd:2379" for m in ETCD)


def _etcdctl(api: Api, pod: str, *args: str) -> tuple[int, str]:
    return api.exec(pod, "env", "ETCDCTL_API=3", "etcdctl", "--dial-timeout=3s", *args)


def _healthy(api: Api, pod: str) -> bool:
    code, out = _etcdctl(api, pod, "--endpoints", ENDPOINTS, "endpoint", "health")
    return code == 0 and out.count("is healthy") == 3


def test_etcd_cluster_by_dns_names_survives_a_member_deletion(env: PetsetEnv, api: Api) -> None:
    out = env.ok("apply", "-f", "examples/etcd/")
    assert "statefulset.apps/etcd created" in out
    wait_ready(api, "etcd", ETCD, timeout=60)
    wait_for("all three members healthy", lambda: _healthy(api, "etcd-0"), 30)
    code, members = _etcdctl(api, "etcd-0", "--endpoints", ENDPOINTS, "member", "list")
    assert code == 0
    for m in ETCD:  # peers advertise their stable DNS names
        assert f"http://{m}.etcd.default.svc.cluster.local:2380" in members, members
    assert _etcdctl(api, "etcd-1", "--endpoints", ENDPOINTS, "put", "greeting", "hello")[0] == 0

    # One member's pod goes; it comes back with the same name, claim and data.
    old = api.must("Pod", "etcd-1")["metadata"]["uid"]
    env.ok("delete", "pod", "etcd-1")
    wait_for(
        "etcd-1 back and Ready",
        lambda: (p := api.get("Pod", "etcd-1")) and p["metadata"]["uid"] != old and is_ready(p),
        60,
    )
    wait_for("all three members healthy again", lambda: _healthy(api, "etcd-2"), 30)
    local = _etcdctl(
        api,
        "etcd-1",
        "--endpoints",
        "http://etcd-1.etcd:2379",
        "get",
        "greeting",
        "--consistency=s",
        "--print-value-only",
    )
    assert local == (0, "hello\n")
    assert _etcdctl(api, "etcd-0", "--endpoints", ENDPOINTS, "member", "list")[1] == members
    env.ok("delete", "-f", "examples/etcd/")


def test_redis_replicas_follow_the_primary(env: PetsetEnv, api: Api) -> None:
    env.ok("apply", "-f", "examples/redis/")
    wait_ready(api, "redis", ["redis-0", "redis-1", "redis-2"], timeout=60)
    assert api.exec("redis-0", "redis-cli", "-h", "redis-0.redis", "set", "greeting", "hi") == (
        0,
        "OK\n",
    )
    for replica in ("redis-1", "redis-2"):
        host = f"{replica}.redis"
        wait_for(
            f"{replica} has the write",
            lambda host=host, replica=replica: (
                api.exec(replica, "redis-cli", "-h", host, "get", "greeting") == (0, "hi\n")
            ),
        )
        _, info = api.exec(replica, "redis-cli", "-h", host, "info", "replication")
        assert "role:slave" in info and "master_link_status:up" in info, info
        _, out = api.exec(replica, "redis-cli", "-h", host, "set", "x", "1")
        assert "READONLY" in out, out
    env.ok("delete", "-f", "examples/redis/")

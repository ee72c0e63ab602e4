"""A MySQLCluster's long life through the real daemon: parameters changed live
or by a rolling restart (replicas first, the primary last), an upgrade that
breaks and is undone, a fenced member, a hibernated cluster. One cluster for
the module; each test leaves it healthy for the next."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from tests.acceptance.conftest import make_env
from tests.acceptance.mysql.helpers import Db, wait_until

pytestmark = pytest.mark.acceptance

NAME = "lc"


def manifest(config: dict[str, Any], pod_template: dict[str, Any] | None = None) -> str:
    spec: dict[str, Any] = {
        "replicas": 3,
        "semiSyncTimeoutMs": 2000,
        "rollout": {"memberTimeoutSeconds": 60},
        "config": config,
    }
    if pod_template is not None:
        spec["podTemplate"] = pod_template
    return json.dumps({
        "apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
        "metadata": {"name": NAME}, "spec": spec,
    })  # fmt: skip


def apply(db: Db, text: str) -> Any:
    return db.env.run("apply", "-f", str(db.env.write(f"{NAME}.json", text)))


def admin(db: Db) -> str:
    secret = db.env.json("get", "secret", f"{NAME}-credentials")
    return base64.b64decode(secret["data"]["admin-password"]).decode()


def query(db: Db, ip: str, statement: str) -> list[tuple[Any, ...]]:
    conn = pymysql.connect(host=ip, user="petset_admin", password=admin(db), connect_timeout=2)
    with conn, conn.cursor() as cur:
        cur.execute(statement)
        return list(cur.fetchall())


def on_every_member(db: Db, statement: str) -> dict[str, Any]:
    return {m["name"]: query(db, m["ip"], statement)[0][0] for m in db.status()["members"]}


def containers(db: Db) -> dict[str, tuple[str, int, str]]:
    """member -> (pod uid, mariadbd restartCount, mariadbd startedAt)."""
    out = {}
    for pod in db.env.json("get", "pods", "-l", f"petset.dev/cluster={NAME}")["items"]:
        cs = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "mariadbd")
        started = cs["state"]["running"]["startedAt"]
        out[pod["metadata"]["name"]] = (pod["metadata"]["uid"], cs["restartCount"], started)
    return out


def events(db: Db) -> list[str]:
    """Event lines for the cluster, oldest first."""
    return db.env.ok("events", "--for", f"mysqlcluster/{NAME}").splitlines()


def settled(db: Db) -> dict[str, Any] | None:
    st = db.healthy()
    return st if st and (st.get("rollout") or {}).get("state") == "Complete" else None


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    with make_env(tmp_path_factory.mktemp("mysql-lifecycle")) as env:
        d = Db(env, NAME)
        res = apply(d, manifest({"max_connections": 200}))
        assert res.returncode == 0, res.stderr
        wait_until(lambda: settled(d), 120, "3 healthy members")
        yield d


def test_bad_parameters_are_rejected_at_apply_with_the_parameter_named(db: Db) -> None:
    res = apply(db, manifest({"max_connections": "lots", "no_such_var": 1}))
    assert res.returncode == 1
    assert "spec.config.max_connections" in res.stderr and "lots" in res.stderr
    assert "spec.config.no_such_var" in res.stderr
    assert db.env.json("get", "mysqlcluster", NAME)["spec"]["config"] == {"max_connections": 200}


def test_a_dynamic_parameter_changes_live_without_a_restart(db: Db) -> None:
    before = containers(db)
    res = apply(db, manifest({"max_connections": 321}))
    assert res.returncode == 0, res.stderr
    wait_until(
        lambda: set(on_every_member(db, "SELECT @@max_connections").values()) == {321},
        30,
        "max_connections=321 on every member",
    )
    assert containers(db) == before  # same pods, same restart counts, same start times
    assert any("ConfigApplied" in e and "max_connections=321" in e for e in events(db))
    assert (db.status().get("config") or {}).get("pendingRestart") == []


def test_a_static_parameter_rolls_replicas_first_and_the_primary_last(db: Db) -> None:
    primary = db.status()["primary"]
    res = apply(db, manifest({"max_connections": 321, "back_log": 77}))
    assert res.returncode == 0, res.stderr
    wait_until(
        lambda: "back_log" in (db.status().get("config") or {}).get("pendingRestart", []),
        20,
        "back_log pending a restart",
    )
    assert "back_log" in db.env.ok("describe", "mysqlcluster", NAME).split("Pending Restart:")[1]
    st = wait_until(lambda: settled(db), 180, "the rolling restart to finish")
    assert set(on_every_member(db, "SELECT @@back_log").values()) == {77}
    assert st["config"]["pendingRestart"] == []
    lines = events(db)

    def at(text: str) -> int:
        return next(i for i, e in enumerate(lines) if text in e)

    replicas = sorted((m["name"] for m in st["members"] if m["name"] != primary), reverse=True)
    order = [at(f"restarting {r} (replica)") for r in replicas]
    assert order == sorted(order), lines
    # The switchover and the old primary's restart often fall in the same second,
    # which is all an Event's timestamp resolves: both come after every replica.
    last = [at(f"switched over from {primary}"), at(f"restarting {primary} (the old primary)")]
    assert max(order) < min(last), lines
    assert "RolloutComplete" in "\n".join(lines)


def test_a_broken_upgrade_halts_at_the_first_replica_and_undo_restores_every_member(
    db: Db,
) -> None:
    st = db.status()
    first = max((m["name"] for m in st["members"] if m["role"] == "replica"), key=lambda n: n)
    broken = {"spec": {"containers": [{"name": "mariadbd", "args": ["--no-such-option-x"]}]}}
    res = apply(db, manifest({"max_connections": 321, "back_log": 77}, broken))
    assert res.returncode == 0, res.stderr
    halted = wait_until(
        lambda: (s := db.status()).get("rollout", {}).get("state") == "Halted" and s, 120,
        "the rollout to halt",
    )  # fmt: skip
    assert f"halted at {first}" in halted["rollout"]["message"]
    cond = next(c for c in halted["conditions"] if c["type"] == "RolloutHalted")
    assert cond["status"] == "True" and first in cond["message"]
    others = [m for m in halted["members"] if m["name"] != first]
    assert all(m["healthy"] for m in others) and halted["primary"] == st["primary"]
    out = db.env.ok("rollout", "undo", f"mysqlcluster/{NAME}")
    assert "rolling back" in out
    wait_until(lambda: settled(db), 120, "every member back on the previous revision")
    sts = db.env.json("get", "sts", NAME)
    revisions = {
        p["metadata"]["labels"]["controller-revision-hash"]
        for p in db.env.json("get", "pods", "-l", f"petset.dev/cluster={NAME}")["items"]
    }
    assert revisions == {sts["status"]["updateRevision"]}
    assert "podTemplate" not in db.env.json("get", "mysqlcluster", NAME)["spec"]
    assert set(on_every_member(db, "SELECT @@back_log").values()) == {77}


def _write(db: Db, table: str, rows: range) -> None:
    with db.connect(db.service_ip(f"{NAME}-rw")) as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS t")
        cur.execute(f"CREATE TABLE IF NOT EXISTS t.{table} (i INT PRIMARY KEY)")
        cur.executemany(f"INSERT INTO t.{table} VALUES (%s)", [(i,) for i in rows])


def _rows(db: Db, ip: str, table: str) -> list[int]:
    try:
        return [int(r[0]) for r in query(db, ip, f"SELECT i FROM t.{table} ORDER BY i")]
    except pymysql.err.ProgrammingError:  # not replicated there yet
        return []


def test_fence_and_unfence_a_replica_keeps_its_data(db: Db) -> None:
    st = db.status()
    bad = db.env.run("mysql", "fence", NAME, st["primary"])
    assert bad.returncode == 1 and "switchover" in bad.stderr
    member = next(m for m in st["members"] if m["role"] == "replica")
    _write(db, "fence", range(1, 51))
    wait_until(lambda: _rows(db, member["ip"], "fence") == list(range(1, 51)), 20, "replicated")
    db.env.ok("mysql", "fence", NAME, member["name"])

    def fenced() -> bool:
        pod = db.env.json("get", "pod", member["name"])
        slave = query(db, member["ip"], "SHOW SLAVE STATUS")
        stopped = not slave or (slave[0][10], slave[0][11]) == ("No", "No")
        return "petset.dev/role" not in pod["metadata"]["labels"] and stopped

    wait_until(fenced, 30, f"{member['name']} fenced")
    st = db.status()
    assert st["fenced"] == [member["name"]]
    assert next(m for m in st["members"] if m["name"] == member["name"])["fenced"] is True
    _write(db, "fence", range(51, 101))
    assert _rows(db, member["ip"], "fence") == list(range(1, 51))  # no replication
    ro = db.env.json("get", "ep", f"{NAME}-ro")
    assert member["ip"] not in json.dumps(ro)  # no traffic
    db.env.ok("mysql", "unfence", NAME, member["name"])
    wait_until(lambda: settled(db), 60, "the member back in service")
    assert _rows(db, member["ip"], "fence") == list(range(1, 101))
    assert "MemberFenced" in "\n".join(events(db)) and "MemberUnfenced" in "\n".join(events(db))


def test_hibernate_and_wake_keep_the_primary_and_the_data(db: Db) -> None:
    primary = db.status()["primary"]
    _write(db, "sleep", range(1, 101))
    db.env.ok("mysql", "hibernate", NAME)
    wait_until(lambda: db.status().get("phase") == "Hibernated", 60, "hibernated")
    assert db.env.json("get", "pods", "-l", f"petset.dev/cluster={NAME}")["items"] == []
    assert len(db.env.json("get", "pvc")["items"]) == 3
    db.env.ok("mysql", "wake", NAME)
    st = wait_until(lambda: settled(db), 120, "awake and healthy")
    assert st["primary"] == primary
    for m in st["members"]:
        assert _rows(db, m["ip"], "sleep") == list(range(1, 101))
    lines = "\n".join(events(db))
    assert "Hibernated" in lines and "Woken" in lines

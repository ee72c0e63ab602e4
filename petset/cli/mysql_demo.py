"""`petset demo`: the flagship, live.

Brings up examples/mysql (3 MariaDB members on a StatefulSet), writes
continuously through the rw Service as an ordinary application would, kills -9
the primary, shows the failover, proves every acknowledged write survived,
scales to 4 members by clone and prints the topology.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

import petset
from petset.api.errors import NotFoundError, PetsetError
from petset.api.meta import Obj
from petset.cli.client import Client
from petset.cli.common import client
from petset.cli.mysql_cmds import topology_table
from petset.cli.objects import read_inputs

EXAMPLE = Path(petset.__file__).resolve().parents[1] / "examples" / "mysql" / "cluster.yaml"
NAME, NS = "mysql", "default"


@dataclass
class Writer:
    """An application: inserts rows through the rw Service, counts acknowledgements."""

    host: str
    password: str
    table: str = field(default_factory=lambda: f"w{int(time.time())}")
    acked: list[int] = field(default_factory=list)
    errors: int = 0
    last_ok: float = 0.0
    longest_gap: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _connect(self) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(host=self.host, user="app", password=self.password,
                               autocommit=True, connect_timeout=2, read_timeout=5,
                               write_timeout=5, ssl_disabled=True)  # fmt: skip

    def start(self) -> None:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS demo")
            cur.execute(f"CREATE TABLE demo.{self.table} (i INT PRIMARY KEY, at DATETIME(3))")
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        conn, i = None, 0
        self.last_ok = time.monotonic()
        while not self._stop.is_set():
            try:
                conn = conn or self._connect()
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO demo.{self.table} VALUES (%s, NOW(3))", (i + 1,))
                i += 1
                now = time.monotonic()
                self.longest_gap = max(self.longest_gap, now - self.last_ok)
                self.last_ok = now
                self.acked.append(i)
            except pymysql.err.MySQLError:
                self.errors += 1
                conn = None
                time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        time.sleep(0.2)

    def line(self) -> Text:
        return Text(
            f"writer through {NAME}-rw ({self.host}): {len(self.acked)} acknowledged, "
            f"{self.errors} failed attempts",
            style="cyan",
        )

    def lost(self) -> list[int]:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT i FROM demo.{self.table}")
            have = {int(r[0]) for r in cur.fetchall()}
        return [i for i in self.acked if i not in have]


def _cluster(c: Client) -> Obj | None:
    try:
        obj: Obj = c.request("GET", f"/v1/objects/MySQLCluster/{NAME}", params={"namespace": NS})
        return obj
    except NotFoundError:
        return None


def _healthy(obj: Obj | None, n: int) -> bool:
    st = (obj or {}).get("status") or {}
    members = st.get("members") or []
    return st.get("phase") == "Ready" and sum(1 for m in members if m.get("healthy")) == n


def _live(
    console: Console,
    c: Client,
    done: Callable[[Obj | None], bool],
    timeout: float,
    extra: Callable[[], Text] | None = None,
) -> Obj:
    started = time.monotonic()
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        while True:
            obj = _cluster(c)
            elapsed = time.monotonic() - started
            parts: list[Any] = []
            if obj is not None:
                parts.append(topology_table(obj))
                msg = (obj.get("status") or {}).get("message")
                if msg:
                    parts.append(Text(f"controller: {msg}", style="dim"))
            if extra is not None:
                parts.append(extra())
            parts.append(Text(f"{elapsed:5.1f}s", style="dim"))
            live.update(Group(*parts))
            if obj is not None and done(obj):
                return obj
            if elapsed > timeout:
                raise PetsetError(
                    f"the demo waited {timeout:.0f}s; see `petset mysql status {NAME}`, "
                    "`petset get pods` and `petset events`"
                )
            time.sleep(0.25)


def _remove_previous(console: Console, c: Client) -> None:
    if _cluster(c) is None:
        return
    console.print(f"[yellow]removing the previous demo cluster {NAME!r} and its volumes[/yellow]")
    c.request("DELETE", f"/v1/objects/MySQLCluster/{NAME}", params={"namespace": NS})
    deadline = time.monotonic() + 90
    sel = {"namespace": NS, "labelSelector": f"petset.dev/cluster={NAME}"}
    while c.request("GET", "/v1/objects/Pod", params=sel)["items"]:
        if time.monotonic() > deadline:
            raise PetsetError("the previous demo's pods did not go away in 90 s")
        time.sleep(0.5)
    for claim in c.request("GET", "/v1/objects/PersistentVolumeClaim", params=sel)["items"]:
        name = claim["metadata"]["name"]
        c.request("DELETE", f"/v1/objects/PersistentVolumeClaim/{name}", params={"namespace": NS})


def _secret(c: Client, key: str) -> str:
    s = c.request("GET", f"/v1/objects/Secret/{NAME}-credentials", params={"namespace": NS})
    return base64.b64decode(s["data"][key]).decode()


def run_mysql_demo() -> None:
    console = Console()
    with client() as c:
        _remove_previous(console, c)
        console.rule("[bold]1. a 3-member MariaDB cluster on a StatefulSet")
        files = read_inputs([str(EXAMPLE)])
        for r in c.request("POST", "/v1/apply", body={"files": files, "namespace": NS})["results"]:
            console.print(f"{r['kind'].lower()}/{r['name']} {r['action']}")
        t0 = time.monotonic()
        _live(console, c, lambda o: _healthy(o, 3), 240)
        console.print(f"[green]replicating, semi-synchronous, in {time.monotonic() - t0:.1f}s")

        console.rule("[bold]2. an application writes through the rw Service")
        rw = c.request("GET", f"/v1/objects/Service/{NAME}-rw", params={"namespace": NS})
        writer = Writer(rw["spec"]["clusterIP"], _secret(c, "app-password"))
        writer.start()
        time.sleep(3)
        console.print(writer.line())

        console.rule("[bold]3. kill -9 of the primary's mariadbd")
        old = (_cluster(c) or {}).get("status", {}).get("primary")
        c.request("POST", f"/v1/pods/{NS}/{old}/exec",
                  body={"command": ["sh", "-c", "kill -9 $(pidof mariadbd)"],
                        "container": "mariadbd"})  # fmt: skip
        console.print(f"killed mariadbd in {old}")
        killed_at = len(writer.acked)

        def failed_over(o: Obj | None) -> bool:
            st = (o or {}).get("status") or {}
            return st.get("primary") not in (None, old) and len(writer.acked) > killed_at + 200

        obj = _live(console, c, failed_over, 60, writer.line)
        st = obj.get("status") or {}
        console.print(f"[green]{st.get('lastFailover')}")
        console.print(
            f"[green]longest pause between acknowledged writes: {writer.longest_gap:.2f}s"
        )
        writer.stop()
        lost = writer.lost()
        verdict = "[green]0 lost" if not lost else f"[red]{len(lost)} LOST: {lost[:10]}"
        console.print(f"{len(writer.acked)} acknowledged writes, all checked on the new primary: "
                      f"{verdict}")  # fmt: skip
        _live(console, c, lambda o: _healthy(o, 3), 120)
        console.print(f"[green]{old} is back, as a replica")

        console.rule("[bold]4. scale to 4 members: the new one is cloned from a replica")
        c.request("PATCH", f"/v1/objects/MySQLCluster/{NAME}", params={"namespace": NS},
                  body={"spec": {"replicas": 4}})  # fmt: skip
        obj = _live(console, c, lambda o: _healthy(o, 4), 240)
        log = c.request("GET", f"/v1/pods/{NS}/{NAME}-3/logs", params={"container": "init-data"})
        for line in str(log.get("text", "")).splitlines():
            if "cloned" in line:
                console.print(line)

        console.rule("[bold]the topology now")
        console.print(topology_table(obj))
        rw_ip = rw["spec"]["clusterIP"]
        console.print(
            f"\nexplore: petset get pods -o wide | petset mysql status {NAME} | "
            f"petset events --for mysqlcluster/{NAME}\n"
            f"connect: mariadb -h {rw_ip} -u app -p  (password: petset get secret "
            f"{NAME}-credentials -o json, key app-password, base64)\n"
            f"switchover: petset mysql switchover {NAME} | remove: petset delete mysqlcluster "
            f"{NAME}; petset daemon stop --pods"
        )

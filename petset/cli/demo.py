"""`petset demo`: apply examples/web and show its members come up, in order.

A stand-in until the flagship MySQL demo: it shows the StatefulSet basics —
stable names web-0..2, one volume each, members started one after another.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

import petset
from petset.api.errors import InvalidError
from petset.api.meta import Obj
from petset.cli import tables
from petset.cli.client import Client
from petset.cli.common import client
from petset.cli.objects import read_inputs

EXAMPLE = Path(petset.__file__).resolve().parents[1] / "examples" / "web"
WAIT_SECONDS = 90.0


def _table(sts: Obj | None, pods: list[Obj], claims: list[Obj]) -> Table:
    ready = (sts or {}).get("status", {}).get("readyReplicas") or 0
    want = (sts or {}).get("spec", {}).get("replicas", 0)
    t = Table(title=f"statefulset.apps/web: {ready}/{want} ready", title_justify="left")
    for col in ("POD", "STATUS", "READY", "IP", "VOLUME"):
        t.add_column(col)
    bound = {c["metadata"]["name"]: (c.get("status") or {}).get("phase", "Pending") for c in claims}
    for p in sorted(pods, key=lambda o: o["metadata"]["name"]):
        name = p["metadata"]["name"]
        statuses = (p.get("status") or {}).get("containerStatuses") or []
        ok = bool(statuses) and all(c.get("ready") for c in statuses)
        ip = (p.get("status") or {}).get("podIP") or ""
        t.add_row(name, tables.pod_status(p), "yes" if ok else "no", ip,
                  f"data-{name} ({bound.get(f'data-{name}', 'missing')})")  # fmt: skip
    return t


def _snapshot(c: Client) -> tuple[Obj | None, list[Obj], list[Obj]]:
    sts = c.request("GET", "/v1/objects/StatefulSet", params={"namespace": "default"})["items"]
    web = next((s for s in sts if s["metadata"]["name"] == "web"), None)
    sel = {"namespace": "default", "labelSelector": "app=web"}
    pods = c.request("GET", "/v1/objects/Pod", params=sel)["items"]
    claims = c.request("GET", "/v1/objects/PersistentVolumeClaim", params=sel)["items"]
    return web, pods, claims


def run_demo(*, keep: bool = True) -> None:
    if not EXAMPLE.is_dir():
        raise InvalidError(f"the demo needs {EXAMPLE} (run it from a petset checkout)")
    console = Console()
    with client() as c:
        console.print(f"[bold]petset demo[/]: applying {EXAMPLE}")
        files = read_inputs([str(EXAMPLE)])
        result = c.request("POST", "/v1/apply", body={"files": files, "namespace": "default"})
        for r in result["results"]:
            console.print(f"  {r['kind']}/{r['name']} {r['action']}")
        deadline = time.monotonic() + WAIT_SECONDS
        with Live(console=console, refresh_per_second=4) as live:
            while True:
                web, pods, claims = _snapshot(c)
                live.update(_table(web, pods, claims))
                want = (web or {}).get("spec", {}).get("replicas", 0)
                if web and (web.get("status") or {}).get("readyReplicas") == want:
                    break
                if time.monotonic() > deadline:
                    console.print("[yellow]not every member is ready yet; see `petset describe "
                                  "sts web` and `petset events`[/]")  # fmt: skip
                    break
                time.sleep(0.5)
    console.print("\nTry: petset get pods -o wide | petset logs web-0 | petset exec web-1 -- "
                  "cat /data/index.html | petset delete -f examples/web/")  # fmt: skip
    if not keep:
        with client() as c:
            c.request("POST", "/v1/delete", body={"files": files, "namespace": "default"})

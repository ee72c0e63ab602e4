"""`petset mysql backup CLUSTER` and `petset mysql backups CLUSTER`.

A backup is a Backup object the daemon's controller carries out, so it is
recorded, watched and listed like any other object (and works the same
against the operator on Kubernetes).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petset.api.errors import PetsetError
from petset.api.meta import Obj
from petset.cli.common import NamespaceOpt, client

if TYPE_CHECKING:  # rich loads only for the verbs that draw
    from rich.console import Console
    from rich.table import Table


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1000  # type: ignore[assignment]
    return "-"


def _line(obj: Obj) -> str:
    st: dict[str, Any] = obj.get("status") or {}
    progress = (st.get("progress") or {}).get("bytes")
    rate = (st.get("progress") or {}).get("bytesPerSecond")
    speed = f" at {_size(rate)}/s" if rate else ""
    return f"{st.get('phase', 'Pending')}: {_size(progress)}{speed} — {st.get('message', '')}"


def create_backup(cluster: str, namespace: str, name: str | None, source: str | None) -> str:
    name = name or f"{cluster}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
    spec: dict[str, Any] = {"cluster": cluster}
    if source:
        spec["source"] = source
    doc = {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "Backup",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    with client() as c:
        c.request("GET", f"/v1/objects/MySQLCluster/{cluster}", params={"namespace": namespace})
        c.request(
            "POST",
            "/v1/apply",
            body={
                "files": [{"source": "<backup>", "text": json.dumps(doc)}],
                "namespace": namespace,
            },
        )
    return name


def wait_backup(name: str, namespace: str, timeout: float, console: Console) -> Obj:
    from rich.live import Live

    deadline = time.monotonic() + timeout
    with client() as c, Live(console=console, refresh_per_second=4, transient=False) as live:
        while True:
            obj: Obj = c.request(
                "GET", f"/v1/objects/Backup/{name}", params={"namespace": namespace}
            )
            live.update(f"backup/{name} {_line(obj)}")
            if (obj.get("status") or {}).get("phase") in ("Completed", "Failed"):
                return obj
            if time.monotonic() > deadline:
                raise PetsetError(
                    f"backup {name} did not finish within {timeout:.0f}s; it goes on: "
                    f"`petset get backup {name}`"
                )
            time.sleep(0.5)


def backups_table(cluster: str, items: list[Obj]) -> Table:
    from rich.table import Table

    table = Table(title=f"Backups of {cluster}", title_justify="left", box=None, pad_edge=False)
    for col in ("NAME", "PHASE", "SOURCE", "GTID", "SIZE", "DURATION", "COMPLETED", "SHA256"):
        table.add_column(col)
    rows = sorted(items, key=lambda b: b["metadata"].get("creationTimestamp") or "")
    for b in rows:
        st: dict[str, Any] = b.get("status") or {}
        src = st.get("source") or {}
        dur = st.get("durationSeconds")
        table.add_row(
            b["metadata"]["name"],
            st.get("phase", "Pending"),
            f"{src.get('member', '-')} ({src.get('role', '?')})" if src else "-",
            st.get("gtid") or "-",
            _size(st.get("size")),
            "-" if dur is None else f"{dur:.1f}s",
            st.get("completionTime") or "-",
            (st.get("sha256") or "-")[:12],
        )
    return table


def register(mysql_app: typer.Typer) -> None:
    @mysql_app.command("backup")
    def backup(
        cluster: str,
        name: Annotated[
            str | None, typer.Option(help="Backup name (default: CLUSTER-time).")
        ] = None,
        source: Annotated[
            str | None, typer.Option(help="Member to back up from (default: a replica).")
        ] = None,
        wait: Annotated[bool, typer.Option("--wait", help="Show progress until done.")] = False,
        timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 3600.0,
        namespace: NamespaceOpt = "default",
    ) -> None:
        """Take a backup of a MySQL cluster (mariadb-backup from a replica)."""
        from rich.console import Console

        made = create_backup(cluster, namespace, name, source)
        console = Console()
        if not wait:
            console.print(f"backup.petset.dev/{made} created")
            return
        obj = wait_backup(made, namespace, timeout, console)
        if obj["status"]["phase"] == "Failed":
            raise PetsetError(f"backup {made} failed: {obj['status'].get('message')}")

    @mysql_app.command("backups")
    def backups(cluster: str, namespace: NamespaceOpt = "default") -> None:
        """List a cluster's backups: phase, source, GTID, size, checksum."""
        from rich.console import Console

        with client() as c:
            items = c.request("GET", "/v1/objects/Backup", params={"namespace": namespace})["items"]
        Console(width=200).print(
            backups_table(cluster, [b for b in items if b["spec"].get("cluster") == cluster])
        )

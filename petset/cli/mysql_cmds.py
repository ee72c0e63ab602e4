"""`petset mysql ...`: the MySQL engine's verbs (status, switchover, failover).

Requests go through the MySQLCluster object (annotations the controller acts
on), so they are recorded, survive a daemon restart and work the same against
the operator on Kubernetes.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from petset.api.errors import PetsetError
from petset.api.meta import Obj
from petset.cli.common import NamespaceOpt, client

mysql_app = typer.Typer(no_args_is_help=True, help="MySQL clusters: topology, switchover.")

SWITCHOVER = "petset.dev/switchover-to"
FAILOVER = "petset.dev/failover-to"


def _get(name: str, namespace: str) -> Obj:
    with client() as c:
        obj: Obj = c.request(
            "GET", f"/v1/objects/MySQLCluster/{name}", params={"namespace": namespace}
        )
    return obj


def _annotate(name: str, namespace: str, key: str, value: str | None) -> None:
    with client() as c:
        c.request(
            "PATCH",
            f"/v1/objects/MySQLCluster/{name}",
            params={"namespace": namespace},
            body={"metadata": {"annotations": {key: value}}},
        )


def topology_table(obj: Obj) -> Table:
    st: dict[str, Any] = obj.get("status") or {}
    semi = st.get("semiSync") or {}
    mode = "semi-sync" if semi.get("primaryActive") else "ASYNC"
    if not semi.get("enabled", True):
        mode = "async (semiSync: false)"
    title = (
        f"MySQLCluster {obj['metadata']['name']}: {st.get('phase', 'Pending')}, "
        f"primary {st.get('primary') or '-'}, {mode}"
    )
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for col in ("MEMBER", "ROLE", "HEALTHY", "IP", "GTID", "LAG", "NOTE"):
        table.add_column(col)
    for m in st.get("members") or []:
        lag = m.get("lagSeconds")
        table.add_row(
            m["name"],
            m.get("role", "?"),
            "yes" if m.get("healthy") else "no",
            m.get("ip", "-"),
            m.get("gtid", "-") or "-",
            "-" if lag is None else f"{lag}s",
            m.get("error")
            or m.get("state")
            or ("unreachable" if m.get("unreachableSince") else ""),
        )
    return table


@mysql_app.command("status")
def status(name: str, namespace: NamespaceOpt = "default") -> None:
    """Show the cluster's topology: roles, GTID positions, lag, health."""
    obj = _get(name, namespace)
    console = Console()
    console.print(topology_table(obj))
    st = obj.get("status") or {}
    if st.get("message"):
        console.print(f"[bold]{st['message']}[/bold]")
    for key in ("lastFailover", "lastSwitchover"):
        if st.get(key):
            console.print(f"{key}: {st[key]}")


def _wait_for_primary_change(
    name: str, namespace: str, old: str | None, annotation: str, timeout: float
) -> Obj:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = _get(name, namespace)
        st = obj.get("status") or {}
        if st.get("primary") and st.get("primary") != old:
            return obj
        pending = annotation in ((obj["metadata"].get("annotations")) or {})
        if not pending:
            raise PetsetError(st.get("message") or "the request was withdrawn")
        if st.get("phase") == "Blocked" and "refused" in str(st.get("message")):
            _annotate(name, namespace, annotation, None)
            raise PetsetError(str(st.get("message")))
        time.sleep(0.2)
    raise PetsetError(
        f"no new primary within {timeout:.0f}s; see `petset describe mysqlcluster {name}` "
        "and `petset events`"
    )


@mysql_app.command("switchover")
def switchover(
    name: str,
    to: Annotated[str, typer.Option("--to", help="Member to promote (default: best replica).")] = (
        "auto"
    ),
    namespace: NamespaceOpt = "default",
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 60.0,
) -> None:
    """Planned change of primary with minimal write unavailability."""
    old = (_get(name, namespace).get("status") or {}).get("primary")
    _annotate(name, namespace, SWITCHOVER, to)
    obj = _wait_for_primary_change(name, namespace, old, SWITCHOVER, timeout)
    st = obj.get("status") or {}
    print(st.get("lastSwitchover") or f"{st.get('primary')} is the primary")


@mysql_app.command("failover")
def failover(
    name: str,
    to: Annotated[str, typer.Option("--to", help="Member to promote.")],
    yes: Annotated[bool, typer.Option("--yes", help="I accept losing writes.")] = False,
    namespace: NamespaceOpt = "default",
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 60.0,
) -> None:
    """Force a failover petset refused to do by itself (acknowledged writes may be lost)."""
    if not yes:
        raise PetsetError(
            "a forced failover may lose acknowledged writes that only the old primary has; "
            "add --yes to go ahead"
        )
    old = (_get(name, namespace).get("status") or {}).get("primary")
    _annotate(name, namespace, FAILOVER, to)
    obj = _wait_for_primary_change(name, namespace, old, FAILOVER, timeout)
    print((obj.get("status") or {}).get("lastFailover") or "done")


# backups: `petset mysql backup|backups` (petset/cli/mysql_backup_cmds.py)
from petset.cli import mysql_backup_cmds  # noqa: E402

mysql_backup_cmds.register(mysql_app)

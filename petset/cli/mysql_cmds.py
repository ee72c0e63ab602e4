"""`petset mysql ...`: the MySQL engine's verbs (status, switchover, failover).

Requests go through the MySQLCluster object (annotations the controller acts
on), so they are recorded, survive a daemon restart and work the same against
the operator on Kubernetes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petset.api.errors import PetsetError
from petset.api.meta import Obj
from petset.cli.common import NamespaceOpt, client

if TYPE_CHECKING:  # rich loads only for the verbs that draw a table
    from rich.table import Table

mysql_app = typer.Typer(
    no_args_is_help=True, help="MySQL clusters: topology, switchover.", rich_markup_mode=None
)

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
    from rich.table import Table

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
    from rich.console import Console

    console = Console()
    console.print(topology_table(obj))
    st = obj.get("status") or {}
    if st.get("message"):
        console.print(f"[bold]{st['message']}[/bold]")
    for key in ("lastFailover", "lastSwitchover"):
        if st.get(key):
            console.print(f"{key}: {st[key]}")
    rollout = st.get("rollout") or {}
    if rollout.get("state") and rollout.get("state") != "Complete":
        console.print(f"rollout: {rollout['state']}: {rollout.get('message', '')}")
    pending = (st.get("config") or {}).get("pendingRestart")
    if pending:
        console.print(f"pending a restart: {', '.join(pending)}")


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


FENCED = "petset.dev/fenced"


def _fenced(obj: Obj) -> list[str]:
    raw = (obj["metadata"].get("annotations") or {}).get(FENCED) or ""
    return [n for n in raw.split(",") if n]


@mysql_app.command("fence")
def fence(name: str, member: str, namespace: NamespaceOpt = "default") -> None:
    """Take one replica out of service: no traffic, no replication, data kept."""
    obj = _get(name, namespace)
    st = obj.get("status") or {}
    if member not in {m["name"] for m in st.get("members") or []}:
        raise PetsetError(f"{member} is not a member of MySQLCluster {name}")
    if st.get("primary") == member:
        raise PetsetError(
            f"{member} is the primary and cannot be fenced: move the primary first with "
            f"`petset mysql switchover {name}`, then fence {member}"
        )
    members = sorted({*_fenced(obj), member})
    _annotate(name, namespace, FENCED, ",".join(members))
    print(f"{member} fenced: out of the rw/ro Services, replication stopped, data kept")


@mysql_app.command("unfence")
def unfence(name: str, member: str, namespace: NamespaceOpt = "default") -> None:
    """Return a fenced member to service: it catches up and rejoins the ro Service."""
    members = [m for m in _fenced(_get(name, namespace)) if m != member]
    _annotate(name, namespace, FENCED, ",".join(members) or None)
    print(f"{member} unfenced: it replicates again and rejoins the ro Service when caught up")


def _hibernate(name: str, namespace: str, on: bool) -> None:
    with client() as c:
        c.request(
            "PATCH",
            f"/v1/objects/MySQLCluster/{name}",
            params={"namespace": namespace},
            body={"spec": {"hibernate": on}},
        )


@mysql_app.command("hibernate")
def hibernate(name: str, namespace: NamespaceOpt = "default") -> None:
    """Stop every member and keep the volumes (spec.hibernate: true)."""
    _hibernate(name, namespace, True)
    print(f"MySQLCluster {name} hibernating: every member stops, the volumes are kept")


@mysql_app.command("wake")
def wake(name: str, namespace: NamespaceOpt = "default") -> None:
    """Start a hibernated cluster again with the same primary."""
    _hibernate(name, namespace, False)
    print(f"MySQLCluster {name} waking: members start, the primary from before comes back")


# backups: `petset mysql backup|backups` (petset/cli/mysql_backup_cmds.py)
from petset.cli import mysql_backup_cmds  # noqa: E402

mysql_backup_cmds.register(mysql_app)


def register(app: typer.Typer) -> None:
    app.add_typer(mysql_app, name="mysql")

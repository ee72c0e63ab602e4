"""scale and rollout: changing how many members run and which revision they run."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from petset.api.errors import NotFoundError, PetsetError
from petset.api.kinds import KindInfo
from petset.cli.client import Client
from petset.cli.common import NamespaceOpt, client, kind_label, require_name, to_yaml
from petset.cli.tables import render

rollout_app = typer.Typer(
    no_args_is_help=True,
    help="Manage the rollout of a StatefulSet or Deployment.",
    rich_markup_mode=None,
)
TargetArg = Annotated[str, typer.Argument(help="KIND/NAME, e.g. sts/web.")]
POLL_SECONDS = 0.5


def scale(
    target: TargetArg,
    replicas: Annotated[int, typer.Option("--replicas", help="The new number of replicas.")],
    namespace: NamespaceOpt = "default",
) -> None:
    """Set the number of replicas of a StatefulSet, Deployment or ReplicaSet."""
    info, name = require_name(target, None, "scale")
    with client() as c:
        c.request("POST", f"/v1/scale/{info.kind}/{name}", params={"namespace": namespace},
                  body={"replicas": replicas})  # fmt: skip
    print(f"{kind_label(info)}/{name} scaled")


def _call(c: Client, action: str, info: KindInfo, name: str, ns: str, **body: Any) -> Any:
    path = f"/v1/rollout/{action}/{info.kind}/{name}"
    return c.request("POST", path, params={"namespace": ns}, body=body)


@rollout_app.command()
def status(
    target: TargetArg,
    namespace: NamespaceOpt = "default",
    timeout: Annotated[float, typer.Option(help="Seconds to wait; 0 waits forever.")] = 0,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Wait until it is done.")] = True,
) -> None:
    """Show a rollout's progress, live, until it is done."""
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    info, name = require_name(target, None, "rollout status")
    deadline = time.monotonic() + timeout if timeout else None
    console = Console(stderr=False)
    with client() as c:
        result = _call(c, "status", info, name, namespace)
        if result.get("done") or not watch:
            print(result["message"])
            return
        with Live(Spinner("dots", text=result["message"]), console=console, transient=True) as live:
            while not result.get("done"):
                if deadline is not None and time.monotonic() > deadline:
                    live.stop()
                    raise PetsetError(f"timed out after {timeout:g} s: {result['message']}")
                time.sleep(POLL_SECONDS)
                result = _call(c, "status", info, name, namespace)
                live.update(Spinner("dots", text=result["message"]))
    print(result["message"])


@rollout_app.command()
def history(
    target: TargetArg,
    namespace: NamespaceOpt = "default",
    revision: Annotated[int | None, typer.Option(help="Show the template of one revision.")] = None,
) -> None:
    """List the revisions of an object."""
    info, name = require_name(target, None, "rollout history")
    with client() as c:
        result = _call(c, "history", info, name, namespace)
    revisions = result["revisions"]
    if revision is not None:
        found = [r for r in revisions if r["revision"] == revision]
        if not found:
            raise NotFoundError(f"{kind_label(info)}/{name}: no revision {revision} in history")
        print(f"{kind_label(info)}/{name} with revision #{revision}")
        print(to_yaml({"template": found[-1]["template"]}), end="")
        return
    print(f"{kind_label(info)}/{name}")
    table = [["REVISION", "CHANGE-CAUSE"]]
    table += [[str(r["revision"]), r["changeCause"] or "<none>"] for r in revisions]
    print(render(table))


def _simple(action: str, target: str, namespace: str, **body: Any) -> None:
    info, name = require_name(target, None, f"rollout {action}")
    with client() as c:
        result = _call(c, action, info, name, namespace, **body)
    print(result["message"])


@rollout_app.command()
def undo(
    target: TargetArg,
    namespace: NamespaceOpt = "default",
    to_revision: Annotated[int, typer.Option(help="Revision to go back to; 0 = previous.")] = 0,
) -> None:
    """Roll back to a previous revision."""
    _simple("undo", target, namespace, toRevision=to_revision)


@rollout_app.command()
def restart(target: TargetArg, namespace: NamespaceOpt = "default") -> None:
    """Replace every member, one at a time, in rollout order."""
    _simple("restart", target, namespace)


@rollout_app.command()
def pause(target: TargetArg, namespace: NamespaceOpt = "default") -> None:
    """Stop a rollout where it is."""
    _simple("pause", target, namespace)


@rollout_app.command()
def resume(target: TargetArg, namespace: NamespaceOpt = "default") -> None:
    """Continue a paused rollout."""
    _simple("resume", target, namespace)


def register(app: typer.Typer) -> None:
    app.command()(scale)
    app.add_typer(rollout_app, name="rollout")

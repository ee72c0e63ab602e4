"""The `petset` command: kubectl-like verbs over the daemon's API.

Bad input never ends in a traceback: PetsetError (and an unknown kind) becomes
`error: <message>` on stderr and exit code 1; usage errors exit 1 as well.
"""

from __future__ import annotations

import sys

import typer

from petset import __version__
from petset.api.errors import PetsetError
from petset.api.kinds import UnknownKindError
from petset.cli import describe, kube_cmds, objects, pods, rollout
from petset.cli.daemon_cmd import daemon_app
from petset.cli.mysql_cmds import mysql_app

app = typer.Typer(
    no_args_is_help=True,
    help="Stateful services, the StatefulSet way.",
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help and usage errors: typer's rich formatter imports rich.markdown and
    # markdown_it (~0.13 s of CPU) on every --help and every mistyped flag.
    rich_markup_mode=None,
)


@app.command()
def version(
    client_only: bool = typer.Option(False, "--client", help="Do not ask the daemon."),
) -> None:
    """Print the client's and the daemon's version."""
    print(f"Client Version: petset {__version__}")
    if client_only:
        return
    from petset.cli.common import client

    with client() as c:
        info = c.request("GET", "/v1/version")
    print(f"Server Version: petset {info['version']} (pid {info['pid']}, home {info['home']})")


@app.command()
def demo(
    web: bool = typer.Option(False, "--web", help="The StatefulSet basics (examples/web) instead."),
    keep: bool = typer.Option(True, help="With --web: leave the demo running when done."),
) -> None:
    """The flagship: a MariaDB cluster that loses its primary and no acknowledged write."""
    if web:
        from petset.cli.demo import run_demo

        run_demo(keep=keep)
        return
    from petset.cli.mysql_demo import run_mysql_demo

    run_mysql_demo()


objects.register(app)
describe.register(app)
pods.register(app)
rollout.register(app)
kube_cmds.register(app)
app.add_typer(daemon_app, name="daemon")
app.add_typer(mysql_app, name="mysql")


def main(argv: list[str] | None = None) -> None:
    try:
        rv = app(args=argv, standalone_mode=False)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as err:  # usage errors: kubectl exits 1 for them too
        show = getattr(err, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {err.format_message()}", file=sys.stderr)
        sys.exit(1)
    except (PetsetError, UnknownKindError) as err:
        text = str(err) if isinstance(err, PetsetError) else str(err.args[0])
        print(f"error: {text}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()

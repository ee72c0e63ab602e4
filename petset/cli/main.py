"""The `petset` command: kubectl-like verbs over the daemon's API.

Bad input never ends in a traceback: PetsetError (and an unknown kind) becomes
`error: <message>` on stderr and exit code 1; usage errors exit 1 as well.
"""

from __future__ import annotations

import importlib
import sys

import typer

from petset import __version__
from petset.api.errors import PetsetError
from petset.api.kinds import UnknownKindError

# The modules whose register(app) adds the other verbs, in `petset --help` order, and
# which verb each adds: a command builds (and imports) only the module its verb needs,
# because typer builds every command's parameters before it runs the one named.
VERB_MODULES: dict[str, str] = {
    "apply": "objects",
    "get": "objects",
    "delete": "objects",
    "describe": "describe",
    "events": "describe",
    "logs": "pods",
    "exec": "pods",
    "scale": "rollout",
    "rollout": "rollout",
    "render": "kube_cmds",
    "operator": "kube_cmds",
    "daemon": "daemon_cmd",
    "mysql": "mysql_cmds",
}
BUILT_IN = ("version", "demo")


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


def build_app(verb: str | None = None) -> typer.Typer:
    """The CLI with every verb, or with `verb` and the built-in ones when it is known."""
    app = typer.Typer(
        no_args_is_help=True,
        help="Stateful services, the StatefulSet way.",
        pretty_exceptions_enable=False,
        add_completion=False,
        # Plain help and usage errors: typer's rich formatter imports rich.markdown and
        # markdown_it (~0.13 s of CPU) on every --help and every mistyped flag.
        rich_markup_mode=None,
    )
    app.command()(version)
    app.command()(demo)
    if verb in BUILT_IN:
        wanted = []
    elif verb in VERB_MODULES:
        wanted = [VERB_MODULES[verb]]
    else:  # `petset --help`, or a verb that is not one: typer lists them all
        wanted = list(VERB_MODULES.values())
    for name in dict.fromkeys(wanted):
        importlib.import_module(f"petset.cli.{name}").register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    verb = args[0] if args and not args[0].startswith("-") else None
    try:
        rv = build_app(verb)(args=args, standalone_mode=False)
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

"""logs and exec: reading from and running commands in a pod's containers."""

from __future__ import annotations

import base64
import os
import sys
from typing import Annotated

import typer

from petset.api.errors import InvalidError
from petset.cli.common import NamespaceOpt, client

ContainerOpt = Annotated[str | None, typer.Option("--container", "-c", help="Container name.")]


def _pod(pod: str) -> str:
    kind, sep, name = pod.partition("/")
    if sep:
        if kind.lower() not in ("pod", "pods", "po"):
            raise InvalidError(f"{pod!r}: name a pod (POD or pod/POD)")
        return name
    return pod


def logs(
    pod: Annotated[str, typer.Argument(help="Pod name (or pod/NAME).")],
    container: ContainerOpt = None,
    namespace: NamespaceOpt = "default",
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    previous: Annotated[bool, typer.Option("--previous", "-p")] = False,
    tail: Annotated[int, typer.Option(help="Lines from the end; -1 for all.")] = -1,
    timestamps: Annotated[bool, typer.Option("--timestamps")] = False,
) -> None:
    """Print a container's log."""
    name = _pod(pod)
    params = {
        "container": container,
        "tail": tail if tail >= 0 else None,
        "previous": "true" if previous else None,
        "timestamps": "true" if timestamps else None,
    }
    with client() as c:
        path = f"/v1/pods/{namespace}/{name}/logs"
        if follow:
            try:
                for item in c.stream(path, params={**params, "follow": "true"}):
                    sys.stdout.write(
                        item["line"] if item["line"].endswith("\n") else item["line"] + "\n"
                    )
                    sys.stdout.flush()
            except KeyboardInterrupt:
                return
            return
        text = c.request("GET", path, params=params)["text"]
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")


def exec_(
    pod: Annotated[str, typer.Argument(help="Pod name (or pod/NAME).")],
    command: Annotated[list[str], typer.Argument(help="The command, after --.")],
    container: ContainerOpt = None,
    namespace: NamespaceOpt = "default",
    stdin: Annotated[
        bool, typer.Option("--stdin", "-i", help="Pass stdin to the command.")
    ] = False,
    tty: Annotated[
        bool, typer.Option("--tty", "-t", help="Allocate a terminal (with -i).")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds before the command is killed.")
    ] = None,
) -> None:
    """Run a command in a container; its exit code becomes petset's."""
    name = _pod(pod)
    with client() as c:
        if tty:
            if not stdin:
                raise InvalidError("exec -t needs -i as well (exec -it POD -- CMD)")
            params = {"container": container}
            argv = c.request("GET", f"/v1/pods/{namespace}/{name}/exec-argv", params=params)["argv"]
            sys.stdout.flush()
            # A terminal cannot travel over the API: enter the sandbox from here.
            os.execvp(argv[0], [*argv, *command])
        data = sys.stdin.buffer.read() if stdin else None
        body = {
            "command": command,
            "container": container,
            "stdin": base64.b64encode(data).decode() if data is not None else None,
            "timeout": timeout,
        }
        wait = None if timeout is None else timeout + 30
        result = c.request("POST", f"/v1/pods/{namespace}/{name}/exec", body=body, timeout=wait)
    sys.stdout.buffer.write(base64.b64decode(result["stdout"]))
    sys.stdout.flush()
    sys.stderr.buffer.write(base64.b64decode(result["stderr"]))
    sys.stderr.flush()
    raise typer.Exit(int(result["exitCode"]))


def register(app: typer.Typer) -> None:
    app.command()(logs)
    app.command("exec")(exec_)

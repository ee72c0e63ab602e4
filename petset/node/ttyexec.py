"""`petset exec -it`, inside the sandbox: the command on a terminal of the pod's own.

The user's terminal cannot be the command's controlling terminal. Its session and
foreground process group live outside the pod's PID namespace, so a job-control
shell cannot hand the terminal back when it exits ("Cannot set tty process group
(No such process)") and its exit code is lost; and its device is not in the
sandbox's /dev/pts (`tty` says "not a tty"). So, as container runtimes do, the
command gets a pty allocated in the sandbox: util-linux script(1) opens the
sandbox's /dev/ptmx, starts the command as a session leader on it, puts the
user's terminal in raw mode (Ctrl-C and Ctrl-D reach the command, not the
client) and restores it, copies the window size at start and on SIGWINCH, and
returns the command's exit code (--return).

Run as a file by the daemon's interpreter (only the standard library):
`python ttyexec.py N K=V... (N environment entries) COMMAND...`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys


def script_argv(command: list[str]) -> list[str]:
    """script(1) running `command` on a new pty; `exec` leaves no shell in between."""
    script = shutil.which("script") or "/usr/bin/script"
    line = "exec " + shlex.join(command)
    return [script, "--quiet", "--return", "--command", line, "/dev/null"]


def command_env(container_env: dict[str, str], client_term: str | None) -> dict[str, str]:
    """The container's environment plus what a terminal session needs: TERM (the
    client's, as `docker exec -t` passes it) and a SHELL for script(1)'s `-c`."""
    env = dict(container_env)
    env.setdefault("TERM", client_term or "xterm")
    env.setdefault("SHELL", "/bin/sh")
    return env


def parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    count = int(argv[0])
    pairs = argv[1 : 1 + count]
    return dict(p.split("=", 1) for p in pairs), argv[1 + count :]


def main(argv: list[str]) -> None:
    container_env, command = parse(argv)
    if not command:
        sys.exit("ttyexec: no command")
    env = command_env(container_env, os.environ.get("TERM"))
    args = script_argv(command)
    os.execve(args[0], args, env)


if __name__ == "__main__":
    main(sys.argv[1:])

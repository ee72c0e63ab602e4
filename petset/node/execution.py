"""Running a command inside a container's namespaces (exec, probes, hooks)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from petset.api.errors import UnavailableError
from petset.node import sandbox, ttyexec
from petset.node.containers import Container
from petset.runtime.cluster import ExecResult

TIMEOUT_EXIT = 124  # what timeout(1) reports, so callers can tell a hang from a failure


def exec_in(
    c: Container, command: list[str], *, stdin: bytes | None = None, timeout: float | None = None
) -> ExecResult:
    """Run `command` in the container (its mount, UTS, IPC and PID namespaces, its env).

    Raises UnavailableError when the container is not running.
    """
    inst = c.instance
    if inst is None or not c.running:
        raise UnavailableError(f"container {c.name!r} is not running")
    argv = sandbox.nsenter_argv(inst, command, workdir=c.record.workdir)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=c.record.env,
        start_new_session=True,  # so a timeout kills nsenter and the command it forked
    )
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return ExecResult(TIMEOUT_EXIT, out, err + f"\ntimed out after {timeout}s\n".encode())
    return ExecResult(proc.returncode, out, err)


def interactive_argv(c: Container) -> list[str]:
    """For `exec -it`: nsenter ... ttyexec <container env>; the caller appends the
    command and runs it on the user's terminal (ttyexec.py says why a pty of the
    sandbox's own sits between them)."""
    inst = c.instance
    if inst is None or not c.running:
        raise UnavailableError(f"container {c.name!r} is not running")
    env = [f"{k}={v}" for k, v in sorted(c.record.env.items())]
    wrapper = [sys.executable, "-I", str(Path(ttyexec.__file__)), str(len(env)), *env]
    return sandbox.nsenter_argv(inst, wrapper, workdir=c.record.workdir)

"""Start, find and stop the daemon process from the CLI (and from tests, by pid)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from http.client import HTTPException
from pathlib import Path

from petset.api.errors import UnavailableError
from petset.api.settings import Settings

START_TIMEOUT = float(os.environ.get("PETSET_START_TIMEOUT", "30"))


def out_path(settings: Settings) -> Path:
    """Where the daemon's stdout/stderr go: what it printed before its log was open."""
    return settings.home / "daemon.out"


def _is_daemon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"petset.server" in cmdline


def daemon_pid(settings: Settings) -> int | None:
    """The pid of the daemon of this home, when one is alive (a stale pid file gives None)."""
    try:
        pid = int(settings.pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_daemon(pid) else None


def answers(settings: Settings) -> bool:
    """Whether a daemon serves the local socket (PETSET_SERVER plays no part here)."""
    from petset.cli.client import UnixConnection

    conn = UnixConnection(str(settings.socket_path), timeout=2.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except (OSError, HTTPException):
        return False
    finally:
        conn.close()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_daemon(settings: Settings, *, listen: str | None = None) -> int:
    """Spawn `python -m petset.server` in its own session and wait until it answers."""
    settings.home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PETSET_HOME=str(settings.home))
    argv = [sys.executable, "-m", "petset.server"]
    if listen:
        argv += ["--listen", listen]
    with open(out_path(settings), "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,  # pods and daemon survive the terminal that started them
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if answers(settings):
            return daemon_pid(settings) or proc.pid
        if proc.poll() is not None and daemon_pid(settings) is None:
            raise UnavailableError(
                f"the daemon exited with code {proc.returncode} while starting:\n"
                f"{_tail(out_path(settings))}\nsee `petset daemon logs`"
            )
        time.sleep(0.05)
    raise UnavailableError(
        f"the daemon did not answer on {settings.socket_path} within {START_TIMEOUT:.0f} s; "
        "see `petset daemon logs`"
    )


def ensure_daemon(settings: Settings) -> None:
    """Start a daemon when none answers, and say so on stderr."""
    if answers(settings):
        return
    pid = start_daemon(settings)
    print(f"petset: started daemon (pid {pid}, home {settings.home})", file=sys.stderr)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours (a test harness that spawned it) counts as gone.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return False
    return True


def stop_daemon(settings: Settings, *, timeout: float = 15.0) -> int | None:
    """SIGTERM the daemon, SIGKILL it after `timeout`; returns the pid it stopped, if any."""
    pid = daemon_pid(settings)
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    return pid

"""One container = one bwrap sandbox, started so that it outlives the daemon.

bwrap runs in its own session with stdout/stderr appended to a log file and
`--json-status-fd` pointed at a file: the sandbox's child pid and, later, its
exit code land on disk whether or not the daemon is alive. A process is only
trusted by (pid, start time from /proc/<pid>/stat), so a recycled pid never is.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from petset.node.mounts import Mount, filesystem_args, runtime_mounts

BWRAP = "bwrap"
NSENTER = "nsenter"
# Where the daemon's Python and petset's code live: visible in every sandbox
# (pods run member commands with this interpreter), even under a fresh /tmp.
RUNTIME_PATHS = [sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[2])]


class SandboxError(Exception):
    pass


@dataclass(frozen=True)
class SandboxSpec:
    hostname: str
    argv: list[str]
    env: dict[str, str]
    mounts: list[Mount]
    log_path: Path
    status_path: Path
    workdir: str = "/"
    # (uid, gid) to run the process as (securityContext.runAsUser/runAsGroup).
    run_as: tuple[int, int] | None = None


@dataclass
class Instance:
    """One run of one container, as recorded on disk."""

    bwrap_pid: int
    start_ticks: int
    child_pid: int  # the sandbox's pid 1 as the host sees it (nsenter target)
    status_path: str
    log_path: str
    started_at: float  # wall clock
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Instance:
        return cls(**data)


def unprivileged() -> bool:
    return os.geteuid() != 0


def proc_start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat, or None when the process is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def read_status(path: Path | str) -> dict[str, Any]:
    """The merged JSON objects bwrap wrote to --json-status-fd (child-pid, exit-code)."""
    out: dict[str, Any] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                out.update(json.loads(line))
            except ValueError:
                continue  # a line still being written
    return out


def bwrap_argv(spec: SandboxSpec, status_fd: int) -> list[str]:
    argv = [BWRAP]
    if unprivileged():
        # The app runs as root of its own user namespace. Without --uid 0, bwrap nests a
        # second user namespace (after mounting devpts) that does not own the IPC/UTS
        # namespaces, and nsenter could then not join them.
        argv += ["--unshare-user", "--uid", "0", "--gid", "0"]
    argv += ["--unshare-pid", "--unshare-uts", "--unshare-ipc", "--hostname", spec.hostname]
    argv += filesystem_args([*runtime_mounts(RUNTIME_PATHS), *spec.mounts])
    argv += ["--chdir", spec.workdir, "--json-status-fd", str(status_fd), "--"]
    command = list(spec.argv)
    if spec.run_as is not None and not unprivileged():
        uid, gid = spec.run_as
        command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *command]
    return argv + command


def launch(spec: SandboxSpec, *, timeout: float = 10.0) -> tuple[Instance, subprocess.Popen[bytes]]:
    """Start the sandbox and wait until its child pid is known.

    Raises SandboxError (with bwrap's own message) when the sandbox cannot be set up.
    """
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    spec.status_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    status_fd = os.open(spec.status_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        proc = subprocess.Popen(
            bwrap_argv(spec, status_fd),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            env=spec.env,
            pass_fds=(status_fd,),
            start_new_session=True,
        )
    finally:
        os.close(log_fd)
        os.close(status_fd)
    started = time.time()
    ticks = proc_start_ticks(proc.pid) or 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child = read_status(spec.status_path).get("child-pid")
        # The child pid is known before the sandbox is set up; its init forks the app
        # only once mounts and hostname are in place, so exec and probes wait for that.
        exited = proc.poll() is not None
        if child and (exited or _has_children(int(child))):
            return Instance(
                proc.pid, ticks, int(child), str(spec.status_path), str(spec.log_path), started
            ), proc
        if exited:
            break
        time.sleep(0.005)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    raise SandboxError(_last_line(spec.log_path) or "bwrap did not start the sandbox")


def _has_children(pid: int) -> bool:
    try:
        return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().strip())
    except OSError:
        return False


def _last_line(path: Path) -> str:
    try:
        lines = path.read_bytes()[-4096:].decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def is_alive(inst: Instance) -> bool:
    return proc_start_ticks(inst.bwrap_pid) == inst.start_ticks


def exit_code(inst: Instance) -> int:
    """The recorded exit code; 137 when bwrap itself died without writing one."""
    code = read_status(inst.status_path).get("exit-code")
    return int(code) if code is not None else 137


def app_pids(inst: Instance) -> list[int]:
    """The container's main process(es): the children of the sandbox's init."""
    try:
        text = Path(f"/proc/{inst.child_pid}/task/{inst.child_pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _sandbox_init_is_ours(inst: Instance) -> bool:
    # The child is trusted only while its bwrap parent is the one we recorded.
    return is_alive(inst) and proc_start_ticks(inst.child_pid) is not None


def signal_app(inst: Instance, sig: int = signal.SIGTERM) -> None:
    """Signal the app, not the sandbox's pid 1 (which ignores what it cannot handle)."""
    if not _sandbox_init_is_ours(inst):
        return
    for pid in app_pids(inst):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_sandbox(inst: Instance) -> None:
    """SIGKILL the sandbox's pid 1: the kernel then kills everything in its PID namespace."""
    if not _sandbox_init_is_ours(inst):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(inst.child_pid, signal.SIGKILL)


def nsenter_argv(inst: Instance, command: list[str], *, workdir: str = "/") -> list[str]:
    argv = [NSENTER, "--target", str(inst.child_pid), "--mount", "--uts", "--ipc", "--pid"]
    if unprivileged():
        argv += ["--user", "--preserve-credentials"]
    return [*argv, f"--wdns={workdir}", "--", *command]

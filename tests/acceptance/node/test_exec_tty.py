"""`petset exec -it POD -- sh` on a real terminal (a pty): typing, window size, raw mode,
Ctrl-C, Ctrl-D and the exit code, as a user at a terminal sees them."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import termios
import time

import pytest

from bench.harness import petset_argv
from tests.acceptance.conftest import PetsetEnv

pytestmark = pytest.mark.acceptance

POD = """
apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    command: [sleep, "300"]
"""


class Terminal:
    """`petset exec -it` started on a fresh pty, as a terminal emulator would run it."""

    def __init__(self, env: PetsetEnv, rows: int, cols: int) -> None:
        argv = [*petset_argv(), "exec", "-it", "shell", "--", "sh"]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its stdin is the pty's terminal
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env.env)
        self.seen = b""

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def expect(self, needle: str, timeout: float = 15.0) -> str:
        """Output up to `needle` (the command's echo included); fails after `timeout`."""
        want = needle.encode()
        deadline = time.monotonic() + timeout
        while want not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the other side closed: the session ended
                    break
                if not chunk:
                    break
                self.seen += chunk
        text = self.seen.decode(errors="replace")
        assert needle in text, f"no {needle!r} on the terminal; saw {text!r}"
        found, _, self.seen = self.seen.partition(want)
        return (found + want).decode(errors="replace")

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def exit_code(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            # Drain: a child blocked writing to a full pty would never exit.
            if select.select([self.fd], [], [], 0.05)[0]:
                with contextlib.suppress(OSError):
                    os.read(self.fd, 4096)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError("petset exec -it did not exit")

    def modes(self) -> int:
        return int(termios.tcgetattr(self.fd)[3])

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def shell_pod(petset_env: PetsetEnv) -> PetsetEnv:
    petset_env.ok("daemon", "start")
    pod = petset_env.write("shell.yaml", POD)
    petset_env.ok("apply", "-f", str(pod))
    deadline = time.monotonic() + 30
    while "Running" not in petset_env.ok("get", "pod", "shell"):
        assert time.monotonic() < deadline, petset_env.ok("describe", "pod", "shell")
        time.sleep(0.2)
    return petset_env


def test_exec_it_shell_on_a_terminal(shell_pod: PetsetEnv) -> None:
    term = Terminal(shell_pod, rows=33, cols=101)
    try:
        term.expect("# ")  # the prompt: the session is up (typing earlier echoes twice)
        term.type("stty size; tty; hostname; echo TERM=$TERM; echo m$((6*7))\n")
        # Typed once: the client's terminal is raw, only the pod's pty echoes.
        shown = term.expect("m42\r\n")
        assert shown.count("echo m$((6*7))") == 1
        assert "33 101\r\n" in shown  # the window size reached the pod's terminal
        assert "/dev/pts/" in shown  # a terminal of the sandbox's own
        assert "shell\r\n" in shown and "TERM=" in shown and "TERM=\r\n" not in shown
        term.resize(40, 120)
        term.type("stty size\n")
        term.expect("40 120\r\n")
        term.type("sleep 30; echo slept\n")
        time.sleep(0.5)
        term.type("\x03")  # Ctrl-C stops the command in the pod, not the session
        term.type("echo alive$((1+1))\n")
        assert "\nslept" not in term.expect("alive2\r\n")
        term.type("exit 3\n")
        assert term.exit_code() == 3
        assert term.modes() & termios.ICANON and term.modes() & termios.ECHO  # restored
    finally:
        term.close()


def test_ctrl_d_ends_the_session_with_the_shells_status(shell_pod: PetsetEnv) -> None:
    term = Terminal(shell_pod, rows=24, cols=80)
    try:
        term.expect("# ")
        term.type("false\n")
        term.type("echo ready\n")
        term.expect("ready\r\n")
        term.type("\x04")  # Ctrl-D at the prompt: sh reads end of input and exits
        assert term.exit_code() == 0
    finally:
        term.close()

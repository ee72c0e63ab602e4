"""A container's exit wakes its pod worker at once (pidfd), not at the next poll."""

from __future__ import annotations

import logging
import subprocess
import threading
import time

from petset.node.exitwatch import ExitWatcher


def test_exit_of_a_watched_process_sets_the_event_promptly() -> None:
    watcher = ExitWatcher(logging.getLogger("test"))
    watcher.start()
    proc = subprocess.Popen(["sleep", "30"])
    try:
        woke = threading.Event()
        watcher.watch(proc.pid, woke)
        watcher.watch(proc.pid, woke)  # watching twice is harmless
        assert not woke.wait(0.1)
        killed = time.monotonic()
        proc.kill()
        assert woke.wait(2.0)
        assert time.monotonic() - killed < 0.5
    finally:
        proc.kill()
        proc.wait()
        watcher.stop()


def test_a_process_already_gone_wakes_immediately() -> None:
    watcher = ExitWatcher(logging.getLogger("test"))
    watcher.start()
    proc = subprocess.Popen(["true"])
    proc.wait()
    woke = threading.Event()
    try:
        watcher.watch(proc.pid, woke)
        assert woke.wait(2.0)
    finally:
        watcher.stop()

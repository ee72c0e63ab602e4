"""Notice a container's exit the moment it happens.

Sandboxes outlive the daemon, so after a restart they are not its children and
waitpid cannot tell when they end. A pidfd (Linux >= 5.3) becomes readable when
its process exits, child or not; one epoll thread wakes the owning pod worker
at once instead of at its next periodic pass. This is what makes a dead MySQL
primary visible to the controller within milliseconds rather than half a second.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading


class ExitWatcher:
    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._lock = threading.Lock()
        self._by_fd: dict[int, tuple[int, threading.Event]] = {}
        self._pids: set[int] = set()
        self._epoll: select.epoll | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if not hasattr(os, "pidfd_open"):
            self._log.info("no pidfd support: container exits are noticed by polling")
            return
        self._epoll = select.epoll()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="exit-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        with self._lock:
            for fd in list(self._by_fd):
                os.close(fd)
            self._by_fd.clear()
            self._pids.clear()
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None

    def watch(self, pid: int, wake: threading.Event) -> None:
        """Set `wake` when `pid` exits (once; a pid already watched is ignored)."""
        if self._epoll is None:
            return
        with self._lock:
            if pid in self._pids:
                return
            try:
                fd = os.pidfd_open(pid)
            except OSError:  # already gone: the caller's own check will see it
                wake.set()
                return
            self._pids.add(pid)
            self._by_fd[fd] = (pid, wake)
            self._epoll.register(fd, select.EPOLLIN)

    def _run(self) -> None:
        assert self._epoll is not None
        epoll = self._epoll
        while not self._stop.is_set():
            try:
                ready = epoll.poll(1.0)
            except (OSError, ValueError):
                return
            for fd, _mask in ready:
                with self._lock:
                    entry = self._by_fd.pop(fd, None)
                    if entry is None:
                        continue
                    self._pids.discard(entry[0])
                    with contextlib.suppress(OSError, ValueError):
                        epoll.unregister(fd)
                    os.close(fd)
                entry[1].set()

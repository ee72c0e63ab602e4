"""A watch-fed, in-memory copy of a few kinds, as the DNS server and the proxy need.

Each kind has one thread: list, then watch from the newest resourceVersion seen,
re-watching when a watch times out and listing again on GoneError (or any
error, after a pause). `version` goes up on every change, so readers can cache
what they derive from `snapshot()` and rebuild only when it moved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from petset.api.errors import GoneError
from petset.api.meta import Obj, name_of, namespace_of
from petset.runtime.cluster import Cluster

Key = tuple[str, str]  # (namespace, name)
Snapshot = dict[str, dict[Key, Obj]]


def _newest(objs: list[Obj]) -> str | None:
    """The highest resourceVersion among `objs` (numeric when they are, as both backends')."""
    versions = [str((o.get("metadata") or {}).get("resourceVersion", "")) for o in objs]
    versions = [v for v in versions if v]
    if not versions:
        return None
    if all(v.isdigit() for v in versions):
        return max(versions, key=int)
    return versions[-1]


class ObjectCache:
    def __init__(
        self,
        cluster: Cluster,
        kinds: tuple[str, ...],
        *,
        logger: logging.Logger,
        on_change: Callable[[], None] | None = None,
        watch_timeout: float | None = None,
    ) -> None:
        """`watch_timeout`: how long one watch waits for changes; by default
        minutes when stop() can interrupt the cluster's watches, else 2 s (a
        re-watch per kind every 2 s was a steady idle cost for nothing)."""
        self._cluster = cluster
        self._kinds = kinds
        self._log = logger
        self._listeners: list[Callable[[], None]] = [] if on_change is None else [on_change]
        self._interrupt: Callable[[], None] | None = getattr(cluster, "interrupt_watches", None)
        if watch_timeout is None:
            watch_timeout = 2.0 if self._interrupt is None else 300.0
        self._watch_timeout = watch_timeout
        self._lock = threading.Lock()
        self._objects: Snapshot = {k: {} for k in kinds}
        self._synced = {k: threading.Event() for k in kinds}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.version = 0

    def start(self) -> None:
        for kind in self._kinds:
            t = threading.Thread(target=self._run, args=(kind,), name=f"watch-{kind}", daemon=True)
            t.start()
            self._threads.append(t)

    def wait_synced(self, timeout: float) -> bool:
        return all(ev.wait(timeout) for ev in self._synced.values())

    def stop(self) -> None:
        """Ask the watch threads to end; each does when its current watch returns
        (at once when the cluster can interrupt watches, else within
        watch_timeout). Not joined: they hold nothing but this cache."""
        self._stop.set()
        if self._interrupt is not None:
            self._interrupt()
        self._threads.clear()

    def snapshot(self) -> tuple[int, Snapshot]:
        """(version, kind -> key -> object); the inner dicts are copies, objects shared."""
        with self._lock:
            return self.version, {k: dict(v) for k, v in self._objects.items()}

    def add_listener(self, fn: Callable[[], None]) -> None:
        """Also call `fn` after every change (under the cache's lock: it must not block)."""
        self._listeners.append(fn)

    def _changed(self) -> None:
        self.version += 1
        for fn in self._listeners:
            fn()

    def _replace(self, kind: str, objs: list[Obj]) -> None:
        with self._lock:
            self._objects[kind] = {(namespace_of(o), name_of(o)): o for o in objs}
            self._changed()
        self._synced[kind].set()

    def _apply(self, kind: str, type_: str, obj: Obj) -> None:
        key = (namespace_of(obj), name_of(obj))
        with self._lock:
            if type_ == "DELETED":
                self._objects[kind].pop(key, None)
            else:
                self._objects[kind][key] = obj
            self._changed()

    def _run(self, kind: str) -> None:
        while not self._stop.is_set():
            try:
                self._list_and_watch(kind)
            except Exception as exc:  # a broken backend must not kill DNS for good
                self._log.warning("watch %s failed (%s); listing again in 1 s", kind, exc)
                self._stop.wait(1.0)

    def _list_and_watch(self, kind: str) -> None:
        objs = self._cluster.list(kind)
        self._replace(kind, objs)
        rv = _newest(objs)
        while not self._stop.is_set():
            try:
                for ev in self._cluster.watch(
                    kind, resource_version=rv, timeout=self._watch_timeout
                ):
                    self._apply(kind, ev.type, ev.object)
                    rv = ev.resource_version
                    if self._stop.is_set():
                        return
            except GoneError:
                self._log.info("watch %s: resourceVersion %s expired; listing again", kind, rv)
                return

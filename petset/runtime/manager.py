"""The controller manager: shared watches feed per-controller work queues,
worker threads call `reconcile(cluster, key)`.

Level-triggered like controller-runtime: at start every existing object is
delivered as ADDED, so a restart reconciles everything again; a watch resumes
from the last version it saw and lists again when that version is Gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from petset.api.errors import GoneError
from petset.api.kinds import UnknownKindError, is_namespaced
from petset.api.meta import Obj, ObjectKey, controller_ref
from petset.runtime.cluster import Cluster, WatchEvent
from petset.runtime.controller import Controller, TemporaryError
from petset.runtime.workqueue import WorkQueue

_WATCH_RETRY_SECONDS = 1.0
# A watch that can be interrupted on stop may wait this long for a change: every
# re-watch costs a wake-up per kind, which added up to ~0.4 % of a core idle
# when watches ended each second only so the loop could check its stop flag.
_LONG_WATCH_SECONDS = 300.0


@dataclass
class _Running:
    controller: Controller
    queue: WorkQueue[ObjectKey]
    last_message: dict[ObjectKey, str] = field(default_factory=dict)


class Manager:
    def __init__(
        self,
        cluster: Cluster,
        controllers: list[Controller],
        *,
        logger: logging.Logger | None = None,
        resync_seconds: float | None = None,
        watch_timeout: float | None = None,
    ) -> None:
        """`watch_timeout` bounds how long stop() waits for a watch to notice when
        the cluster cannot interrupt its watches; by default 1 s then, and minutes
        when it can (`interrupt_watches`, called by stop())."""
        self._cluster = cluster
        self._log = logger or logging.getLogger("petset.manager")
        self._running = [_Running(c, WorkQueue()) for c in controllers]
        self._resync = resync_seconds
        self._interrupt: Callable[[], None] | None = getattr(cluster, "interrupt_watches", None)
        if watch_timeout is None:
            watch_timeout = 1.0 if self._interrupt is None else _LONG_WATCH_SECONDS
        self._watch_timeout = watch_timeout
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._cache: dict[str, dict[ObjectKey, Obj]] = {}
        self._dispatching = 0

    # -- lifecycle ----------------------------------------------------------------
    def kinds(self) -> list[str]:
        """Every kind some controller needs watched, each watched once."""
        found: dict[str, None] = {}
        for r in self._running:
            c = r.controller
            for kind in (c.kind, *c.owns, *(k for k, _ in c.watches)):
                found[kind] = None
        return list(found)

    def start(self) -> None:
        for kind in self.kinds():
            self._cache[kind] = {}
            self._spawn(f"watch-{kind}", self._watch_loop, kind)
        for r in self._running:
            for i in range(max(1, r.controller.workers)):
                self._spawn(f"{r.controller.name}-{i}", self._worker, r)
            period = r.controller.resync_seconds or self._resync
            if period:
                self._spawn(f"{r.controller.name}-resync", self._resync_loop, r, period)

    def _spawn(self, name: str, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop watches and workers; True when every thread ended within `timeout`."""
        self._stop.set()
        for r in self._running:
            r.queue.shutdown()
        deadline = time.monotonic() + timeout
        if self._interrupt is not None:
            # Again until all ended: a watch opened just after an interrupt
            # (between its loop's stop check and the watch) misses it.
            watches = self._threads[: len(self._cache)]  # started first, one per kind
            while any(t.is_alive() for t in watches) and time.monotonic() < deadline:
                self._interrupt()
                for t in watches:
                    t.join(min(0.05, max(0.0, deadline - time.monotonic())))
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            self._log.warning("manager: threads still running after stop: %s", alive)
        return not alive

    def wait_idle(self, timeout: float = 10.0, *, settle: float = 0.05) -> bool:
        """For tests: True once no event is being dispatched, no key is queued or
        processing (or due within 0.2 s), steadily for `settle` seconds."""
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            with self._lock:
                dispatching = self._dispatching
            idle = not dispatching and all(r.queue.is_idle(0.2) for r in self._running)
            if not idle:
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= settle:
                return True
            time.sleep(0.005)
        return False

    def last_message(self, controller: str, key: ObjectKey) -> str | None:
        """The last outcome sentence a controller reported for `key`."""
        for r in self._running:
            if r.controller.name == controller:
                return r.last_message.get(key)
        return None

    # -- watches ------------------------------------------------------------------
    def _watch_loop(self, kind: str) -> None:
        rv: str | None = None
        relist = False
        while not self._stop.is_set():
            try:
                if relist:
                    self._relist(kind)
                    relist = False
                events = self._cluster.watch(kind, resource_version=rv, timeout=self._watch_timeout)
                for event in events:
                    rv = _newer(rv, event.resource_version)
                    self._dispatch(kind, event)
                    if self._stop.is_set():
                        return
            except GoneError:
                self._log.info("watch %s: version %s compacted; listing again", kind, rv)
                rv, relist = None, True
            except Exception:
                self._log.exception("watch %s failed; retrying", kind)
                self._stop.wait(_WATCH_RETRY_SECONDS)

    def _relist(self, kind: str) -> None:
        """After Gone, deletions we missed are found by comparing with the cache."""
        present = {ObjectKey.of(o) for o in self._cluster.list(kind)}
        for key, obj in list(self._cache[kind].items()):
            if key not in present:
                self._dispatch(kind, WatchEvent("DELETED", obj, ""))

    def _dispatch(self, kind: str, event: WatchEvent) -> None:
        with self._lock:
            self._dispatching += 1
        try:
            key = ObjectKey.of(event.object)
            cache = self._cache[kind]
            old = cache.pop(key, None) if event.type == "DELETED" else cache.get(key)
            if event.type != "DELETED":
                cache[key] = event.object
            for r in self._running:
                self._enqueue_for(r, kind, event.object, old)
        finally:
            with self._lock:
                self._dispatching -= 1

    def _enqueue_for(self, r: _Running, kind: str, obj: Obj, old: Obj | None) -> None:
        c = r.controller
        if kind == c.kind:
            r.queue.add(ObjectKey.of(obj))
        if kind in c.owns:
            for key in _owner_keys(c.kind, (obj, old)):
                r.queue.add(key)
        for watched, mapper in c.watches:
            if watched != kind:
                continue
            try:
                keys = mapper(self._cluster, obj)
            except Exception:
                self._log.exception("%s: mapping %s failed", c.name, ObjectKey.of(obj))
                continue
            for key in keys:
                r.queue.add(key)

    def _resync_loop(self, r: _Running, period: float) -> None:
        c = r.controller
        kinds = {c.kind, *c.owns, *(k for k, _ in c.watches)}
        while not self._stop.wait(period):
            for kind in kinds:
                for obj in list(self._cache.get(kind, {}).values()):
                    self._enqueue_for(r, kind, obj, None)

    # -- workers ------------------------------------------------------------------
    def _worker(self, r: _Running) -> None:
        while True:
            key = r.queue.get()
            if key is None:
                return
            try:
                self._process(r, key)
            finally:
                r.queue.done(key)

    def _process(self, r: _Running, key: ObjectKey) -> None:
        c = r.controller
        try:
            result = c.reconcile(self._cluster, key)
        except TemporaryError as err:
            if err.delay is None:
                delay = r.queue.add_rate_limited(key)
            else:
                delay = err.delay
                r.queue.add_after(key, delay)
            self._note(r, key, f"{err} (retrying in {delay:.3g}s)")
            return
        except Exception:
            self._log.exception("%s: reconcile %s failed", c.name, key)
            r.queue.add_rate_limited(key)
            return
        r.queue.forget(key)
        self._note(r, key, result.message)
        if result.requeue_after is not None:
            r.queue.add_after(key, result.requeue_after)

    def _note(self, r: _Running, key: ObjectKey, message: str) -> None:
        if r.last_message.get(key) != message:
            r.last_message[key] = message
            self._log.info("%s %s: %s", r.controller.name, key, message)


def _owner_keys(owner_kind: str, objs: Iterable[Obj | None]) -> set[ObjectKey]:
    keys = set()
    for obj in objs:
        ref = controller_ref(obj) if obj else None
        if not obj or not ref or ref.get("kind") != owner_kind:
            continue
        try:
            namespaced = is_namespaced(owner_kind)
        except UnknownKindError:
            namespaced = True
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        keys.add(ObjectKey(owner_kind, namespace if namespaced else "", str(ref.get("name"))))
    return keys


def _newer(current: str | None, seen: str) -> str:
    """The version to resume from: the highest seen (initial ADDED events come in
    name order, not version order)."""
    if current is None or not seen:
        return seen or (current or "")
    try:
        return seen if int(seen) > int(current) else current
    except ValueError:
        return seen

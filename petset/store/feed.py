"""Wake-ups for watchers, per kind.

A daemon runs a watch per kind for its controllers, plus the node's, DNS's,
the proxy's and the API's: one Condition for all of them made every commit wake
every watcher, each re-taking the store lock to find nothing of its kind. Here a
commit wakes only the watchers of the kinds it changed.

All methods are called with the store's lock held (the Conditions share it).
"""

from __future__ import annotations

import threading
from typing import Literal, NamedTuple, TypeAlias

_Lock: TypeAlias = "threading.RLock"
StoreEventType = Literal["ADDED", "MODIFIED", "DELETED"]


class RawChange(NamedTuple):
    """One change as stored: the object is its JSON text, parsed only by who needs it."""

    type: StoreEventType
    resource_version: int
    data: str


class Feed:
    def __init__(self, lock: _Lock) -> None:
        self._lock = lock
        self._conds: dict[str, threading.Condition] = {}
        # Per kind, a version at or after its newest committed change ("nothing
        # of this kind after it"); unknown kinds get the current version.
        self._newest: dict[str, int] = {}
        self._touched: set[str] = set()

    def touched(self, kind: str) -> None:
        """A write of `kind` in the open transaction."""
        self._touched.add(kind)

    def committed(self, rv: int) -> None:
        for kind in self._touched:
            self._newest[kind] = rv
            cond = self._conds.get(kind)
            if cond is not None:
                cond.notify_all()
        self._touched.clear()

    def rolled_back(self) -> None:
        self._touched.clear()

    def newest(self, kind: str, current: int) -> int:
        return self._newest.setdefault(kind, current)

    def version(self, kind: str) -> int | None:
        """The newest version known to hold `kind`'s last committed change, None
        when unknown. Safe without the lock: it is set before the writer returns,
        and a later commit of `kind` always changes it."""
        return self._newest.get(kind)

    def wait(self, kind: str, timeout: float | None) -> None:
        cond = self._conds.get(kind)
        if cond is None:
            cond = self._conds[kind] = threading.Condition(self._lock)
        cond.wait(timeout)

    def wake_all(self) -> None:
        for cond in self._conds.values():
            cond.notify_all()

"""How a controller declares itself to the manager: one kind, one reconcile function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from petset.api.meta import Obj, ObjectKey
from petset.runtime.cluster import Cluster


@dataclass(frozen=True)
class Result:
    """Outcome of one reconcile pass: a human sentence and when to look again.

    `requeue_after` None means "only when something changes"; the manager logs
    `message` and tests assert on it.
    """

    message: str
    requeue_after: float | None = None


class TemporaryError(Exception):
    """Retry later (rate-limited requeue), e.g. a pod not reachable yet."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


Reconcile = Callable[[Cluster, ObjectKey], Result]
# Maps a changed object of another kind to the keys of the primary kind to reconcile.
Mapper = Callable[[Cluster, Obj], list[ObjectKey]]


@dataclass(frozen=True)
class Controller:
    """A level-triggered controller for `kind`.

    The manager enqueues the key of every `kind` object that changes, the
    controller owner (ownerReferences controller=true) of every changed object
    of a kind in `owns`, and whatever `watches` mappers return. `reconcile` must
    be idempotent: a daemon restart simply reconciles every object again.
    """

    name: str
    kind: str
    reconcile: Reconcile
    owns: tuple[str, ...] = ()
    watches: tuple[tuple[str, Mapper], ...] = field(default=())
    workers: int = 1
    # Resync: reconcile every object this often even without changes (None: never).
    resync_seconds: float | None = None

"""LocalCluster: the Cluster protocol over petset's SQLite store.

Pod exec and logs come from the node through `PodIO`, wired in by the server
after construction (the node needs the cluster first); until then they raise
UnavailableError so a caller retries instead of failing for good.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from petset.api.defaults import apply_defaults
from petset.api.errors import UnavailableError
from petset.api.meta import Obj
from petset.runtime.cluster import Cluster, ExecResult, PodIO, Propagation, WatchEvent
from petset.store import ApplyResult, Store
from petset.store.apply import Defaults


class LocalCluster:
    def __init__(self, store: Store, pod_io: PodIO | None = None) -> None:
        self.store = store
        self._pod_io = pod_io

    def set_pod_io(self, pod_io: PodIO | None) -> None:
        self._pod_io = pod_io

    def get(self, kind: str, name: str, namespace: str = "") -> Obj:
        return self.store.get(kind, name, namespace)

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[Obj]:
        return self.store.list(
            kind, namespace, label_selector=label_selector, field_selector=field_selector
        )

    # The API server defaults every object it is given, whoever writes it.
    def create(self, obj: Obj) -> Obj:
        return self.store.create(apply_defaults(obj))

    def update(self, obj: Obj) -> Obj:
        return self.store.update(apply_defaults(obj))

    def update_status(self, obj: Obj) -> Obj:
        return self.store.update_status(obj)

    def patch(self, kind: str, name: str, namespace: str, patch: Obj) -> Obj:
        return self.store.patch(kind, name, namespace, patch)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        propagation: Propagation = "Background",
        uid: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> None:
        self.store.delete(
            kind,
            name,
            namespace,
            propagation=propagation,
            uid=uid,
            grace_period_seconds=grace_period_seconds,
        )

    def apply_many(
        self,
        objs: builtins.list[Obj],
        *,
        manager: str = "petset",
        defaults: Defaults | None = None,
    ) -> builtins.list[ApplyResult]:
        return self.store.apply_many(objs, manager=manager, defaults=defaults)

    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[WatchEvent]:
        for change in self.store.watch(
            kind,
            namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            timeout=timeout,
        ):
            yield WatchEvent(change.type, change.object, change.resource_version)

    def interrupt_watches(self) -> None:
        """End every open watch now (see Store.interrupt_watches)."""
        self.store.interrupt_watches()

    def record_event(
        self,
        involved: Obj,
        *,
        type: Literal["Normal", "Warning"],
        reason: str,
        message: str,
        source: str = "petset",
    ) -> None:
        self.store.record_event(involved, type=type, reason=reason, message=message, source=source)

    def _io(self) -> PodIO:
        if self._pod_io is None:
            raise UnavailableError("pod exec and logs are not available: the node is not running")
        return self._pod_io

    def pod_exec(
        self,
        namespace: str,
        name: str,
        command: builtins.list[str],
        *,
        container: str | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        return self._io().pod_exec(
            namespace, name, command, container=container, stdin=stdin, timeout=timeout
        )

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
    ) -> str:
        return self._io().pod_logs(
            namespace, name, container=container, tail=tail, previous=previous
        )


if TYPE_CHECKING:
    # mypy proves LocalCluster keeps the Cluster contract's signatures.
    _conforms: type[Cluster] = LocalCluster

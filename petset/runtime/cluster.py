"""The one interface controllers and engines see: a Kubernetes-like API.

Two implementations: `LocalCluster` (over petset's SQLite store, with pod exec
and logs from the node) and `KubeCluster` (a real API server). A third,
`MemoryCluster`, is the small in-memory fake for unit tests of decisions.

Contract (all implementations):
* objects are Kubernetes-shaped dicts; `kind` names the kind (`StatefulSet`);
  cluster-scoped kinds use namespace "".
* every successful write returns the stored object with a new
  metadata.resourceVersion; a write whose metadata.resourceVersion is set and
  stale raises ConflictError; creating an existing name raises AlreadyExistsError;
  reading or writing a missing object raises NotFoundError.
* `update` replaces everything but `status`; `update_status` replaces only
  `status`. metadata.generation is bumped when (and only when) `spec` changes.
* `delete` of an object with finalizers only sets deletionTimestamp; it is
  removed when the last finalizer goes. Dependents are collected through
  ownerReferences according to `propagation` (Background, Foreground, Orphan).
* `watch` yields changes after `resource_version` (all current objects as
  ADDED first when it is None) and ends after `timeout` seconds; GoneError when
  the version is too old to replay.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from petset.api.meta import Obj

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Propagation = Literal["Background", "Foreground", "Orphan"]


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object: Obj
    resource_version: str


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class Cluster(Protocol):
    def get(self, kind: str, name: str, namespace: str = "") -> Obj: ...

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[Obj]:
        """Objects of `kind`; namespace None means every namespace."""
        ...

    def create(self, obj: Obj) -> Obj: ...

    def update(self, obj: Obj) -> Obj: ...

    def update_status(self, obj: Obj) -> Obj: ...

    def patch(self, kind: str, name: str, namespace: str, patch: Obj) -> Obj:
        """RFC 7386 JSON merge patch (a `status` key patches status); a
        metadata.resourceVersion in the patch is a precondition (ConflictError)."""
        ...

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
        """Delete; with `uid`, only if the stored object still has that uid (else
        ConflictError). `grace_period_seconds` overrides a pod's
        terminationGracePeriodSeconds (0: kill now, e.g. to fence it)."""
        ...

    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[WatchEvent]: ...

    def record_event(
        self,
        involved: Obj,
        *,
        type: Literal["Normal", "Warning"],
        reason: str,
        message: str,
        source: str = "petset",
    ) -> None:
        """Post an Event, deduplicated (same object+reason+message bumps count)."""
        ...

    def pod_exec(
        self,
        namespace: str,
        name: str,
        command: builtins.list[str],
        *,
        container: str | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> ExecResult: ...

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
    ) -> str: ...


class PodIO(Protocol):
    """Pod exec and logs, provided by the node (local) and wired into LocalCluster
    by the server at start; on Kubernetes the API server provides them."""

    def pod_exec(
        self,
        namespace: str,
        name: str,
        command: builtins.list[str],
        *,
        container: str | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> ExecResult: ...

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
    ) -> str: ...

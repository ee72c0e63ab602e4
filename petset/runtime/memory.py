"""MemoryCluster: the Cluster protocol in memory, for unit tests of decisions.

It keeps the contract of cluster.py (resourceVersion, conflicts, generation,
finalizers, owner cascade, watch) so controllers can be driven to convergence
against it; pod exec and logs answer from small scripted tables.
"""

from __future__ import annotations

import builtins
import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Literal

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError
from petset.api.kinds import is_namespaced, kind_info
from petset.api.merge import merge_patch
from petset.api.meta import Obj, ObjectKey, controller_ref, labels_of
from petset.api.selectors import matches_fields, parse_field_selector, parse_label_selector
from petset.runtime.cluster import EventType, ExecResult, Propagation, WatchEvent

ExecHandler = Callable[[str, str, list[str], str | None], ExecResult]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MemoryCluster:
    def __init__(self) -> None:
        self._objects: dict[ObjectKey, Obj] = {}
        self._rv = 0
        self._log: builtins.list[WatchEvent] = []
        self._cond = threading.Condition()
        self._watch_epoch = 0  # bumped by interrupt_watches
        self.events: builtins.list[Obj] = []
        self.exec_handler: ExecHandler | None = None
        self.logs: dict[tuple[str, str, str | None], str] = {}

    # -- helpers -------------------------------------------------------------
    def _key(self, kind: str, name: str, namespace: str) -> ObjectKey:
        return ObjectKey(kind, namespace if is_namespaced(kind) else "", name)

    def _bump(self, type_: EventType, obj: Obj) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._log.append(WatchEvent(type_, copy.deepcopy(obj), str(self._rv)))
        self._cond.notify_all()
        return copy.deepcopy(obj)

    # -- reads ---------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: str = "") -> Obj:
        with self._cond:
            obj = self._objects.get(self._key(kind, name, namespace))
            if obj is None:
                raise NotFoundError(f"{kind} {name!r} not found in namespace {namespace!r}")
            return copy.deepcopy(obj)

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[Obj]:
        sel = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        with self._cond:
            out = [
                copy.deepcopy(o)
                for k, o in sorted(self._objects.items())
                if k.kind == kind
                and (namespace is None or k.namespace == namespace)
                and sel.matches(labels_of(o))
                and matches_fields(o, fields)
            ]
        return out

    # -- writes --------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        kind = obj["kind"]
        obj.setdefault("apiVersion", kind_info(kind).api_version)
        md = obj.setdefault("metadata", {})
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        if is_namespaced(kind):
            md.setdefault("namespace", "default")
        else:
            md.pop("namespace", None)
        key = ObjectKey.of(obj)
        with self._cond:
            if key in self._objects:
                raise AlreadyExistsError(f"{kind} {key.name!r} already exists")
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_iso()
            md["generation"] = 1
            self._objects[key] = obj
            return self._bump("ADDED", obj)

    def _check_rv(self, current: Obj, incoming: Obj) -> None:
        rv = (incoming.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise ConflictError(
                f"{current['kind']} {current['metadata']['name']!r}: the object has been "
                "modified; read it again and re-apply your change"
            )

    def update(self, obj: Obj) -> Obj:
        key = ObjectKey.of(obj)
        with self._cond:
            cur = self._objects.get(self._key(key.kind, key.name, key.namespace))
            if cur is None:
                raise NotFoundError(f"{key.kind} {key.name!r} not found")
            self._check_rv(cur, obj)
            new = copy.deepcopy(obj)
            new["status"] = copy.deepcopy(cur.get("status"))
            if new["status"] is None:
                new.pop("status")
            for f in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if f in cur["metadata"]:
                    new["metadata"][f] = cur["metadata"][f]
            if new.get("spec") != cur.get("spec"):
                new["metadata"]["generation"] = cur["metadata"].get("generation", 1) + 1
            return self._finish_write(cur, new)

    def update_status(self, obj: Obj) -> Obj:
        key = ObjectKey.of(obj)
        with self._cond:
            cur = self._objects.get(self._key(key.kind, key.name, key.namespace))
            if cur is None:
                raise NotFoundError(f"{key.kind} {key.name!r} not found")
            self._check_rv(cur, obj)
            new = copy.deepcopy(cur)
            new["status"] = copy.deepcopy(obj.get("status"))
            return self._finish_write(cur, new)

    def _finish_write(self, cur: Obj, new: Obj) -> Obj:
        key = ObjectKey.of(new)
        if new == cur:
            return copy.deepcopy(cur)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            del self._objects[key]
            return self._bump("DELETED", new)
        self._objects[key] = new
        return self._bump("MODIFIED", new)

    def patch(self, kind: str, name: str, namespace: str, patch: Obj) -> Obj:
        with self._cond:
            cur = self.get(kind, name, namespace)
            want = (patch.get("metadata") or {}).get("resourceVersion")
            if want and want != cur["metadata"]["resourceVersion"]:
                raise ConflictError(f"{kind} {name}: the object has been modified")
            new = merge_patch(cur, patch)
            if "status" in patch:
                self.update_status(new)
            rest = {k: v for k, v in patch.items() if k != "status"}
            if rest:
                new2 = merge_patch(self.get(kind, name, namespace), rest)
                new2["metadata"].pop("resourceVersion", None)
                return self.update(new2)
            return self.get(kind, name, namespace)

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
        with self._cond:
            key = self._key(kind, name, namespace)
            cur = self._objects.get(key)
            if cur is None:
                raise NotFoundError(f"{kind} {name!r} not found")
            if uid and cur["metadata"]["uid"] != uid:
                # As Kubernetes (and the store): a failed uid precondition is a 409.
                raise ConflictError(f"{kind} {name!r}: precondition failed: uid {uid}")
            owner_uid = cur["metadata"]["uid"]
            if cur["metadata"].get("finalizers"):
                if not cur["metadata"].get("deletionTimestamp"):
                    cur = copy.deepcopy(cur)
                    cur["metadata"]["deletionTimestamp"] = now_iso()
                    if grace_period_seconds is not None:
                        cur["metadata"]["deletionGracePeriodSeconds"] = grace_period_seconds
                    self._objects[key] = cur
                    self._bump("MODIFIED", cur)
            else:
                del self._objects[key]
                self._bump("DELETED", cur)
            for dkey, dep in list(self._objects.items()):
                refs = dep["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                if propagation == "Orphan":
                    dep = copy.deepcopy(dep)
                    dep["metadata"]["ownerReferences"] = [
                        r for r in refs if r.get("uid") != owner_uid
                    ]
                    self._objects[dkey] = dep
                    self._bump("MODIFIED", dep)
                elif dkey in self._objects:
                    self.delete(dkey.kind, dkey.name, dkey.namespace, propagation=propagation)

    # -- watch ---------------------------------------------------------------
    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[WatchEvent]:
        sel = parse_label_selector(label_selector)
        deadline = None if timeout is None else time.monotonic() + timeout
        epoch = self._watch_epoch

        def wanted(ev: WatchEvent) -> bool:
            o = ev.object
            ns = (o.get("metadata") or {}).get("namespace") or ""
            return (
                o.get("kind") == kind
                and (namespace is None or ns == namespace)
                and sel.matches(labels_of(o))
            )

        if resource_version is None:
            with self._cond:
                pos = len(self._log)
                initial = self.list(kind, namespace, label_selector=label_selector)
            for o in initial:
                yield WatchEvent("ADDED", o, o["metadata"]["resourceVersion"])
        else:
            pos = sum(1 for e in self._log if int(e.resource_version) <= int(resource_version))
        while True:
            with self._cond:
                while pos >= len(self._log):
                    if self._watch_epoch != epoch:
                        return
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return
                    self._cond.wait(left)
                batch = self._log[pos:]
                pos = len(self._log)
            for ev in batch:
                if wanted(ev):
                    yield WatchEvent(ev.type, copy.deepcopy(ev.object), ev.resource_version)

    def interrupt_watches(self) -> None:
        """End every open watch now, as if its timeout had passed."""
        with self._cond:
            self._watch_epoch += 1
            self._cond.notify_all()

    # -- events, exec, logs ----------------------------------------------------
    def record_event(
        self,
        involved: Obj,
        *,
        type: Literal["Normal", "Warning"],
        reason: str,
        message: str,
        source: str = "petset",
    ) -> None:
        ref = {
            "kind": involved.get("kind"),
            "name": (involved.get("metadata") or {}).get("name"),
            "namespace": (involved.get("metadata") or {}).get("namespace"),
            "uid": (involved.get("metadata") or {}).get("uid"),
        }
        for ev in self.events:
            if ev["involvedObject"] == ref and ev["reason"] == reason and ev["message"] == message:
                ev["count"] += 1
                ev["lastTimestamp"] = now_iso()
                return
        self.events.append(
            {
                "involvedObject": ref,
                "type": type,
                "reason": reason,
                "message": message,
                "source": {"component": source},
                "count": 1,
                "firstTimestamp": now_iso(),
                "lastTimestamp": now_iso(),
            }
        )

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
        if self.exec_handler is None:
            raise NotFoundError(f"pod {name!r}: MemoryCluster has no exec handler")
        return self.exec_handler(namespace, name, command, container)

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
    ) -> str:
        text = self.logs.get((namespace, name, container), "")
        if tail is not None:
            text = "\n".join(text.splitlines()[-tail:])
        return text

    def owner_of(self, obj: Obj) -> Obj | None:
        ref = controller_ref(obj)
        if ref is None:
            return None
        for o in self._objects.values():
            if o["metadata"]["uid"] == ref.get("uid"):
                return copy.deepcopy(o)
        return None

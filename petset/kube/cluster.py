"""`Cluster` on a real Kubernetes API server (see runtime/cluster.py for the contract).

Generic over kinds: paths come from the kind registry (kube/resources.py), the
versions of Kubernetes-only groups (policy for PodDisruptionBudgets) from the
server's discovery, so the same code serves 1.20 (policy/v1beta1) and today.
"""

from __future__ import annotations

import builtins
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

from kubernetes import client as k8s

from petset.api.errors import ConflictError, GoneError, PetsetError, UnavailableError
from petset.api.meta import Obj, name_of, namespace_of, resource_version_of, uid_of
from petset.kube.client import Transport, load_api_client
from petset.kube.exec import exec_in_pod
from petset.kube.resources import Resource, resource_for
from petset.runtime.cluster import ExecResult, Propagation, WatchEvent

log = logging.getLogger("petset.kube")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(rv: str) -> int:
    try:
        return int(rv)
    except ValueError:
        return -1


class KubeCluster:
    """Kubernetes behind the `Cluster` protocol. `namespace` scopes every
    "all namespaces" list and watch to one namespace (operator --namespace)."""

    def __init__(self, api: k8s.ApiClient, *, namespace: str | None = None) -> None:
        self.api = api
        self.http = Transport(api)
        self.scope = namespace
        self._lock = threading.Lock()
        self._group_versions: dict[str, str] = {}
        # watch stream -> (version we last handed out, later bookmark version)
        self._bookmarks: dict[tuple[str, str | None, str | None], tuple[str, str]] = {}

    @classmethod
    def from_config(cls, kubeconfig: str | None = None, *, namespace: str | None = None) -> KubeCluster:  # fmt: skip  # noqa: E501
        return cls(load_api_client(kubeconfig), namespace=namespace)

    # -- discovery ----------------------------------------------------------------
    def server_version(self) -> str:
        info = self.http.request("GET", "/version")
        return str(info.get("gitVersion", "")).lstrip("v")

    def preferred_version(self, group: str) -> str | None:
        """`group/version` the server prefers for an API group, None when not served."""
        with self._lock:
            if group in self._group_versions:
                return self._group_versions[group]
        try:
            doc = self.http.request("GET", f"/apis/{group}")
        except PetsetError:
            return None
        version = str((doc.get("preferredVersion") or {}).get("groupVersion") or "") or None
        if version:
            with self._lock:
                self._group_versions[group] = version
        return version

    def _resource(self, kind: str, api_version: str | None = None) -> Resource:
        res = resource_for(kind, api_version)
        if kind == "PodDisruptionBudget" and api_version is None:
            return resource_for(kind, self.preferred_version("policy"))
        return res

    def _ns(self, res: Resource, namespace: str | None) -> str | None:
        if not res.namespaced:
            return None
        return namespace if namespace else self.scope

    @staticmethod
    def _with_kind(obj: Obj, res: Resource) -> Obj:
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        return obj

    # -- reads ----------------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: str = "") -> Obj:
        res = self._resource(kind)
        obj = self.http.request("GET", res.object_path(name, namespace or "default"))
        return self._with_kind(obj, res)

    def _list(self, res: Resource, namespace: str | None, query: dict[str, str | None]) -> Obj:
        doc: Obj = self.http.request(
            "GET", res.collection_path(self._ns(res, namespace)), query=query
        )
        for item in doc.get("items") or []:
            self._with_kind(item, res)
        return doc

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[Obj]:
        res = self._resource(kind)
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        items: builtins.list[Obj] = self._list(res, namespace, query).get("items") or []
        return items

    # -- writes ---------------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        res = self._resource(str(obj["kind"]), str(obj.get("apiVersion") or "") or None)
        ns = namespace_of(obj) or "default"
        out = self.http.request(
            "POST", res.collection_path(ns if res.namespaced else None), body=obj
        )
        return self._with_kind(out, res)

    def update(self, obj: Obj) -> Obj:
        res = self._resource(str(obj["kind"]), str(obj.get("apiVersion") or "") or None)
        path = res.object_path(name_of(obj), namespace_of(obj) or "default")
        return self._with_kind(self.http.request("PUT", path, body=obj), res)

    def update_status(self, obj: Obj) -> Obj:
        res = self._resource(str(obj["kind"]), str(obj.get("apiVersion") or "") or None)
        path = res.object_path(name_of(obj), namespace_of(obj) or "default") + "/status"
        return self._with_kind(self.http.request("PUT", path, body=obj), res)

    def patch(self, kind: str, name: str, namespace: str, patch: Obj) -> Obj:
        res = self._resource(kind)
        path = res.object_path(name, namespace or "default")
        rest = {k: v for k, v in patch.items() if k != "status"}
        merge = "application/merge-patch+json"
        out: Obj | None = None
        if rest or "status" not in patch:
            out = self.http.request("PATCH", path, body=rest, content_type=merge)
        if "status" in patch:
            body = {"status": patch["status"]}
            out = self.http.request("PATCH", path + "/status", body=body, content_type=merge)
        assert out is not None
        return self._with_kind(out, res)

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
        res = self._resource(kind)
        body: Obj = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        self.http.request("DELETE", res.object_path(name, namespace or "default"), body=body)

    # -- watch ----------------------------------------------------------------------
    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[WatchEvent]:
        res = self._resource(kind)
        ns = self._ns(res, namespace)
        stream = (kind, ns, label_selector)
        rv = resource_version
        if rv is None:
            # a list gives the current objects AND a fresh version to resume from
            doc = self._list(res, namespace, {"labelSelector": label_selector})
            rv = str(doc["metadata"]["resourceVersion"])
            for item in doc.get("items") or []:
                yield WatchEvent("ADDED", item, rv)
        else:
            rv = self._resume_from(stream, rv)
        yield from self._watch_from(res, ns, stream, rv, label_selector, timeout)

    def _resume_from(self, stream: tuple[str, str | None, str | None], rv: str) -> str:
        """A bookmark after the last event we handed out moves the resume point on,
        so an idle watch is not Gone after the server compacts its history."""
        with self._lock:
            seen = self._bookmarks.get(stream)
        if seen and seen[0] == rv:
            return seen[1]
        return rv

    def _watch_from(
        self,
        res: Resource,
        ns: str | None,
        stream: tuple[str, str | None, str | None],
        rv: str,
        label_selector: str | None,
        timeout: float | None,
    ) -> Iterator[WatchEvent]:
        seconds = max(1, math.ceil(timeout)) if timeout else 300
        query = {"watch": "true", "allowWatchBookmarks": "true", "resourceVersion": rv,
                 "labelSelector": label_selector, "timeoutSeconds": str(seconds)}  # fmt: skip
        handed_out = rv
        deadline = time.monotonic() + seconds
        lines = self.http.stream_lines(
            res.collection_path(ns), query=query, read_timeout=seconds + 5
        )
        for line in lines:
            event = json.loads(line)
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                code = obj.get("code")
                if code == 410:
                    raise GoneError(str(obj.get("message") or f"version {rv} is gone"))
                raise UnavailableError(f"watch {res.kind}: {obj.get('message')} (code {code})")
            if kind == "BOOKMARK":
                with self._lock:
                    self._bookmarks[stream] = (handed_out, resource_version_of(obj))
                continue
            version = resource_version_of(obj)
            if _int(version) > _int(handed_out):
                handed_out = version
            yield WatchEvent(kind, self._with_kind(obj, res), version)
            if time.monotonic() > deadline:
                return

    # -- events ---------------------------------------------------------------------
    def record_event(
        self,
        involved: Obj,
        *,
        type: Literal["Normal", "Warning"],
        reason: str,
        message: str,
        source: str = "petset",
    ) -> None:
        """Fire and forget, like client-go's recorder: a failed Event is logged only."""
        try:
            self._record_event(involved, type, reason, message, source)
        except PetsetError as err:
            log.warning("event %s on %s not recorded: %s", reason, name_of(involved), err)

    def _record_event(self, involved: Obj, type_: str, reason: str, message: str, source: str) -> None:  # fmt: skip  # noqa: E501
        ns = namespace_of(involved) or "default"
        uid = uid_of(involved)
        selector = f"involvedObject.uid={uid},reason={reason}" if uid else (
            f"involvedObject.name={name_of(involved)},involvedObject.kind={involved.get('kind')},"
            f"reason={reason}"
        )  # fmt: skip
        now = now_rfc3339()
        for _ in range(3):
            same = [
                e for e in self.list("Event", ns, field_selector=selector)
                if e.get("message") == message
                and (e.get("source") or {}).get("component") == source
            ]  # fmt: skip
            if not same:
                break
            event = same[0]
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = now
            try:
                self.update(event)  # resourceVersion set: a concurrent bump is a Conflict
                return
            except ConflictError:
                continue
        ref = {"apiVersion": involved.get("apiVersion"), "kind": involved.get("kind"),
               "name": name_of(involved), "namespace": ns, "uid": uid,
               "resourceVersion": resource_version_of(involved)}  # fmt: skip
        self.create({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name_of(involved)}.{time.time_ns():x}", "namespace": ns},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": source, "host": socket.gethostname()},
            "reportingComponent": source,
            "reportingInstance": socket.gethostname(),
        })  # fmt: skip

    # -- pods -----------------------------------------------------------------------
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
        return exec_in_pod(
            self.api, namespace, name, command, container=container, stdin=stdin, timeout=timeout
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
        res = self._resource("Pod")
        query = {"container": container, "tailLines": str(tail) if tail is not None else None,
                 "previous": "true" if previous else None}  # fmt: skip
        return self.http.request_text(res.object_path(name, namespace) + "/log", query=query)

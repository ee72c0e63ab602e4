"""A tiny fake kubelet and a driver that runs the StatefulSet controller to convergence.

The kubelet moves Pending pods to Running and Ready (or keeps chosen ones
unready, pending or failed) and finishes the termination of deleted pods one
step later (pods carry a finalizer while "running"), so ordering is visible.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from petset.api.meta import Obj, ObjectKey, name_of
from petset.controllers.statefulset import reconcile
from petset.controllers.statefulset.identity import (
    is_running_and_ready,
    ordinal_of,
    parse_time,
)
from petset.runtime.controller import Result
from petset.runtime.memory import MemoryCluster

FINALIZER = "test.petset.dev/kubelet"
NS = "default"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def iso(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeKubelet:
    def __init__(self, cluster: MemoryCluster, clock: Clock) -> None:
        self.cluster = cluster
        self.clock = clock
        self.bad_images: set[str] = set()  # containers with these images never become Ready
        self.unready: set[str] = set()  # pods whose readiness probe fails
        self.hold: set[str] = set()  # pods kept Pending
        self.fail: set[str] = set()  # pods that end Failed

    def step(self) -> None:
        for pod in self.cluster.list("Pod", NS):
            md = pod["metadata"]
            if md.get("deletionTimestamp"):
                md["finalizers"] = [f for f in md.get("finalizers") or [] if f != FINALIZER]
                self.cluster.update(pod)
                continue
            if name_of(pod) in self.hold:
                continue
            self._run(pod)

    def _run(self, pod: Obj) -> None:
        md = pod["metadata"]
        if FINALIZER not in (md.get("finalizers") or []):
            md["finalizers"] = [*(md.get("finalizers") or []), FINALIZER]
            pod = self.cluster.update(pod)
        images = [c.get("image") for c in pod["spec"].get("containers") or []]
        if name_of(pod) in self.fail:
            status: dict[str, Any] = {"phase": "Failed"}
        else:
            ready = name_of(pod) not in self.unready and not any(
                i in self.bad_images for i in images
            )
            old = pod.get("status") or {}
            old_ready = next(
                (c for c in old.get("conditions") or [] if c.get("type") == "Ready"), {}
            )
            was = old_ready.get("status") == ("True" if ready else "False")
            since = old_ready.get("lastTransitionTime") if was else self.clock.iso()
            status = {
                "phase": "Running",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if ready else "False",
                        "lastTransitionTime": since,
                    }
                ],
                "containerStatuses": [
                    {"name": c.get("name"), "ready": ready, "state": {"running": {}}}
                    for c in pod["spec"].get("containers") or []
                ],
            }
        if pod.get("status") != status:
            pod["status"] = status
            self.cluster.update_status(pod)


def fingerprint(cluster: MemoryCluster) -> tuple[tuple[str, str, str], ...]:
    out = []
    for kind in ("StatefulSet", "Pod", "PersistentVolumeClaim", "ControllerRevision"):
        for o in cluster.list(kind, NS):
            out.append((kind, name_of(o), o["metadata"]["resourceVersion"]))
    return tuple(out)


Check = Callable[[MemoryCluster, Result], None]


class Driver:
    """Runs reconcile + kubelet rounds, checking invariants after every write."""

    def __init__(self, cluster: MemoryCluster | None = None) -> None:
        self.cluster = cluster or MemoryCluster()
        self.clock = Clock()
        self.kubelet = FakeKubelet(self.cluster, self.clock)
        self.checks: list[Check] = []
        self.results: list[Result] = []
        self.created_order: list[str] = []
        self.deleted_order: list[str] = []

    def reconcile(self, name: str = "web") -> Result:
        before = {name_of(p): p for p in self.cluster.list("Pod", NS)}
        result = reconcile(self.cluster, ObjectKey("StatefulSet", NS, name), clock=self.clock)
        after = {name_of(p): p for p in self.cluster.list("Pod", NS)}
        for pname, pod in sorted(after.items(), key=lambda kv: ordinal_of(kv[1])):
            old = before.get(pname)
            if old is None or old["metadata"]["uid"] != pod["metadata"]["uid"]:
                self.created_order.append(pname)
        for pname, old in sorted(before.items(), key=lambda kv: -ordinal_of(kv[1])):
            if old["metadata"].get("deletionTimestamp"):
                continue
            new = after.get(pname)
            if (
                new is None
                or new["metadata"]["uid"] != old["metadata"]["uid"]
                or new["metadata"].get("deletionTimestamp")
            ):
                self.deleted_order.append(pname)
        self.results.append(result)
        for check in self.checks:
            check(self.cluster, result)
        return result

    def converge(self, name: str = "web", max_rounds: int = 200, tick: float = 1.0) -> Result:
        last = None
        stable = 0
        result = None
        for _ in range(max_rounds):
            result = self.reconcile(name)
            self.kubelet.step()
            for check in self.checks:
                check(self.cluster, result)
            self.clock.advance(tick)
            fp = fingerprint(self.cluster)
            stable = stable + 1 if fp == last else 0
            if stable >= 2:
                return result
            last = fp
        raise AssertionError(f"did not converge; last: {result}")

    def rounds(self, n: int, name: str = "web") -> Result:
        result = None
        for _ in range(n):
            result = self.reconcile(name)
            self.kubelet.step()
            self.clock.advance(1.0)
        assert result is not None
        return result


def statefulset(
    name: str = "web",
    *,
    replicas: int = 3,
    image: str = "nginx:1",
    claims: bool = True,
    **spec: Any,
) -> Obj:
    sts: Obj = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }
    if claims:
        sts["spec"]["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ]
    sts["spec"].update(copy.deepcopy(spec))
    return sts


def pods_by_ordinal(cluster: MemoryCluster) -> list[Obj]:
    return sorted(cluster.list("Pod", NS), key=ordinal_of)


def set_image(cluster: MemoryCluster, image: str, name: str = "web") -> Obj:
    sts = cluster.get("StatefulSet", name, NS)
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return cluster.update(sts)


def patch_spec(cluster: MemoryCluster, name: str = "web", **spec: Any) -> Obj:
    return cluster.patch("StatefulSet", name, NS, {"spec": spec})


def ready_for(pod: Obj, now: datetime) -> float:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            since = parse_time(c.get("lastTransitionTime", ""))
            return (now - since).total_seconds() if since else 0.0
    return -1.0


# -- invariants ------------------------------------------------------------------
def created_in_order(sts_name: str = "web") -> Check:
    """OrderedReady: when a pod is created, every predecessor exists and is Ready."""
    seen: dict[str, str] = {}

    def check(cluster: MemoryCluster, result: Result) -> None:
        pods = {ordinal_of(p): p for p in cluster.list("Pod", NS)}
        sts = cluster.get("StatefulSet", sts_name, NS)
        start = ((sts["spec"].get("ordinals") or {}).get("start")) or 0
        for ordinal, pod in pods.items():
            uid = pod["metadata"]["uid"]
            if seen.get(name_of(pod)) == uid:
                continue
            seen[name_of(pod)] = uid
            for prev in range(start, ordinal):
                assert prev in pods and is_running_and_ready(pods[prev]), (
                    f"{name_of(pod)} created while {sts_name}-{prev} is not Ready"
                )

    return check


def deletions_in_reverse_order(cluster: MemoryCluster, result: Result) -> None:
    """Monotonic scale-down: a pod is terminating only once every higher ordinal is gone."""
    pods = pods_by_ordinal(cluster)
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            higher = [name_of(p) for p in pods if ordinal_of(p) > ordinal_of(pod)]
            assert not higher, f"{name_of(pod)} terminating while {higher} exist ({result})"


def successors_not_ready_before_predecessors(cluster: MemoryCluster, result: Result) -> None:
    """Upstream's monotonic invariant (scaling only): no Ready pod after an unready one."""
    pods = pods_by_ordinal(cluster)
    for prev, pod in itertools.pairwise(pods):
        if is_running_and_ready(pod):
            assert is_running_and_ready(prev), f"{name_of(pod)} Ready while {name_of(prev)} is not"

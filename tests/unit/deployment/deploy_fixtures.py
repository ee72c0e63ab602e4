"""A small world for the Deployment and ReplicaSet tests: MemoryCluster, a clock that
moves only when told, and a fake kubelet that starts pods (Ready unless told otherwise).

`World.converge` plays the controller manager: it runs reconciles and kubelet
ticks, in a fixed or a shuffled order, and calls every `check` after each single
action, so invariants are asserted at every moment the cluster could be observed.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from petset.api.errors import NotFoundError
from petset.api.meta import Obj, ObjectKey, labels_of
from petset.controllers import deployment, replicaset
from petset.controllers.deployment.common import format_time, is_pod_active, is_pod_available
from petset.runtime.controller import Result, TemporaryError
from petset.runtime.memory import MemoryCluster

NS = "default"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_deployment(name: str = "web", replicas: int = 3, image: str = "v1", **spec: object) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            **spec,
        },
    }


def make_replicaset(name: str = "cache", replicas: int = 3, **spec: object) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "v1"}]},
            },
            **spec,
        },
    }


def image_of(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["image"])


@dataclass
class World:
    seed: int = 0
    cluster: MemoryCluster = field(default_factory=MemoryCluster)
    clock: FakeClock = field(default_factory=FakeClock)
    # pods for which this returns True stay Running but never become Ready
    unready: Callable[[Obj], bool] = lambda pod: False
    checks: list[Callable[[World], None]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    moments: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- objects ---------------------------------------------------------------------
    def deployment(self, name: str = "web") -> Obj:
        return self.cluster.get("Deployment", name, NS)

    def edit(self, name: str, change: Callable[[Obj], None]) -> Obj:
        d = self.deployment(name)
        change(d)
        return self.cluster.update(d)

    def set_image(self, image: str, name: str = "web") -> Obj:
        def change(d: Obj) -> None:
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image

        return self.edit(name, change)

    def replica_sets(self) -> list[Obj]:
        return self.cluster.list("ReplicaSet", NS)

    def pods(self) -> list[Obj]:
        return [p for p in self.cluster.list("Pod", NS) if is_pod_active(p)]

    def available_pods(self, min_ready_seconds: int = 0) -> list[Obj]:
        now = self.clock()
        return [p for p in self.pods() if is_pod_available(p, min_ready_seconds, now)]

    # -- the fake kubelet --------------------------------------------------------------
    def kubelet_tick(self, pod: Obj) -> bool:
        try:
            pod = self.cluster.get("Pod", pod["metadata"]["name"], NS)
        except NotFoundError:
            return False
        if (pod.get("status") or {}).get("phase"):
            return False
        ready = "False" if self.unready(pod) else "True"
        stamp = format_time(self.clock())
        pod = copy.deepcopy(pod)
        pod["status"] = {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": stamp}],
            "containerStatuses": [{"name": "app", "ready": ready == "True", "restartCount": 0}],
        }
        self.cluster.update_status(pod)
        return True

    # -- the manager ---------------------------------------------------------------------
    def reconcile(self, key: ObjectKey) -> Result:
        try:
            if key.kind == "Deployment":
                result = deployment.reconcile(self.cluster, key, clock=self.clock)
            else:
                result = replicaset.reconcile(self.cluster, key, clock=self.clock, rng=self.rng)
        except TemporaryError as exc:  # the manager would requeue it
            result = Result(f"temporary: {exc}")
        self.messages.append(result.message)
        return result

    def _actions(self) -> list[Callable[[], object]]:
        acts: list[Callable[[], object]] = []
        keys = [ObjectKey.of(o) for o in self.cluster.list("Deployment", NS)]
        keys += [ObjectKey.of(o) for o in self.replica_sets()]
        for key in keys:
            acts.append(partial(self.reconcile, key))
        for pod in self.pods():
            acts.append(lambda p=pod: self.kubelet_tick(p))
        return acts

    def _fingerprint(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(
            (kind, o["metadata"]["name"], o["metadata"]["resourceVersion"])
            for kind in ("Deployment", "ReplicaSet", "Pod")
            for o in self.cluster.list(kind, NS)
        )

    def check(self) -> None:
        self.moments += 1
        for check in self.checks:
            check(self)

    def converge(self, shuffled: bool = False, max_rounds: int = 300) -> None:
        """Run actions until a full round changes nothing; checks run after each action."""
        for _ in range(max_rounds):
            before = self._fingerprint()
            acts = self._actions()
            if shuffled:
                self.rng.shuffle(acts)
                # also re-run a few at random: queues may visit one key twice in a row
                acts += [self.rng.choice(acts) for _ in range(len(acts) // 2)] if acts else []
            for act in acts:
                act()
                self.check()
            if self._fingerprint() == before:
                return
        raise AssertionError("did not converge:\n" + "\n".join(self.messages[-20:]))


def pods_by_hash(world: World) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in world.pods():
        h = labels_of(pod).get("pod-template-hash", "")
        counts[h] = counts.get(h, 0) + 1
    return counts

"""Helpers for StatefulSet acceptance tests: a fast API client, waits, and test manifests.

The `petset` command costs a Python start (1-2 s on a loaded 2-core machine), so
tests type it for the verbs under test and poll the daemon's API directly
(`Api`, the same HTTP calls the CLI makes) while they wait.

`web_set()` is the e2e suite's "ss" StatefulSet: small HTTP servers whose
readiness probe is `GET /index.html`, a file an init container writes into the
member's claim; `break_pod`/`restore_pod` move that file away and back as
Kubernetes' `breakHTTPProbe`/`restoreHTTPProbe` do.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from petset.api.errors import GoneError, NotFoundError
from petset.api.meta import Obj
from petset.api.settings import Settings
from petset.cli.client import Client
from tests.acceptance.conftest import PetsetEnv

T = TypeVar("T")
NS = "default"


class Api:
    """The daemon's HTTP API for one PetsetEnv (no autostart: the test started it)."""

    def __init__(self, env: PetsetEnv) -> None:
        self.env = env
        self.client = Client(Settings.from_env(env.env), autostart=False)

    def close(self) -> None:
        self.client.close()

    def apply(self, *objs: Obj) -> list[dict[str, Any]]:
        files = [{"source": f"<test {i}>", "text": json.dumps(o)} for i, o in enumerate(objs)]
        body = {"files": files, "namespace": NS}
        return list(self.client.request("POST", "/v1/apply", body=body)["results"])

    def get(self, kind: str, name: str) -> Obj | None:
        try:
            obj: Obj = self.client.request(
                "GET", f"/v1/objects/{kind}/{name}", params={"namespace": NS}
            )
            return obj
        except NotFoundError:
            return None

    def must(self, kind: str, name: str) -> Obj:
        obj = self.get(kind, name)
        assert obj is not None, f"{kind}/{name} not found"
        return obj

    def list(self, kind: str, selector: str | None = None) -> list[Obj]:
        params = {"namespace": NS, "labelSelector": selector}
        items: list[Obj] = self.client.request("GET", f"/v1/objects/{kind}", params=params)["items"]
        return items

    def patch(self, kind: str, name: str, patch: Obj) -> Obj:
        obj: Obj = self.client.request(
            "PATCH", f"/v1/objects/{kind}/{name}", params={"namespace": NS}, body=patch
        )
        return obj

    def delete(self, kind: str, name: str, *, propagation: str | None = None) -> None:
        params = {"namespace": NS, "propagation": propagation}
        with contextlib.suppress(NotFoundError):
            self.client.request("DELETE", f"/v1/objects/{kind}/{name}", params=params)

    def exec(self, pod: str, *command: str, timeout: float = 20) -> tuple[int, str]:
        """(exit code, stdout + stderr) of `command` in the pod's first container."""
        body = {"command": list(command), "timeout": timeout}
        res = self.client.request(
            "POST", f"/v1/pods/{NS}/{pod}/exec", body=body, timeout=timeout + 30
        )
        out = base64.b64decode(res["stdout"]) + base64.b64decode(res["stderr"])
        return int(res["exitCode"]), out.decode(errors="replace")

    def events(self, name: str) -> list[Obj]:
        events = self.list("Event")
        return [e for e in events if (e.get("involvedObject") or {}).get("name") == name]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll `probe` until it returns something truthy; fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except AssertionError as err:  # a probe may assert to explain what it saw
            last = err
            if time.monotonic() > deadline:
                raise
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {last}")
        time.sleep(0.2)


# -- pods ---------------------------------------------------------------------------


def is_ready(pod: Obj | None) -> bool:
    if not pod or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return status.get("phase") == "Running" and ready


def pods_of(api: Api, name: str) -> dict[str, Obj]:
    """The set's pods by name (terminating ones included)."""
    return {p["metadata"]["name"]: p for p in api.list("Pod", f"app={name}")}


def revision_of(pod: Obj) -> str:
    return str(pod["metadata"]["labels"].get("controller-revision-hash", ""))


def wait_ready(api: Api, name: str, expect: list[str], timeout: float = 40) -> dict[str, Obj]:
    """Exactly the pods `expect` exist and all are Running and Ready."""

    def probe() -> dict[str, Obj] | None:
        pods = pods_of(api, name)
        ok = sorted(pods) == sorted(expect) and all(is_ready(p) for p in pods.values())
        return pods if ok else None

    return wait_for(f"pods {expect} Running and Ready", probe, timeout)


def wait_settled(api: Api, name: str, timeout: float = 60) -> Obj:
    """The set once its status reports every replica ready and at the update revision."""

    def probe() -> Obj | None:
        sts = api.must("StatefulSet", name)
        st, want = sts.get("status") or {}, sts["spec"]["replicas"]
        done = (
            st.get("observedGeneration") == sts["metadata"]["generation"]
            and st.get("readyReplicas", 0) == want
            and st.get("replicas", 0) == want
            and st.get("updatedReplicas", 0) == want
            and st.get("currentRevision") == st.get("updateRevision")
        )
        return sts if done else None

    return wait_for(f"statefulset {name} settled", probe, timeout)


def break_pod(api: Api, pod: str) -> None:
    """Make the readiness probe fail: move the page it fetches out of the way."""
    code, out = api.exec(pod, "mv", "/data/index.html", "/tmp/index.html")
    assert code == 0, out


def restore_pod(api: Api, pod: str) -> None:
    code, out = api.exec(pod, "mv", "/tmp/index.html", "/data/index.html")
    assert code == 0, out


def resume_pod(api: Api, pod: str) -> None:
    """Let a gated pod become Ready (the e2e suite's ResumeNextPod)."""
    code, out = api.exec(pod, "touch", "/data/continue")
    assert code == 0, out


def cleanup(api: Api, name: str) -> None:
    """Delete the set (its pods go with it), then its claims; wait until all are gone."""
    api.delete("StatefulSet", name)
    for pvc in api.list("PersistentVolumeClaim", f"app={name}"):
        api.delete("PersistentVolumeClaim", pvc["metadata"]["name"])
    api.delete("Service", name)
    wait_for(f"pods of {name} gone", lambda: not pods_of(api, name), 30)


# -- manifests ---------------------------------------------------------------------

# Writes the page the readiness probe fetches, with the member's hostname, unless the
# claim already has one (so a page written before a restart survives it).
INIT_SCRIPT = "[ -f /data/index.html ] || hostname > /data/index.html"


def web_set(
    name: str,
    replicas: int,
    *,
    claims: bool = True,
    policy: str = "OrderedReady",
    strategy: Obj | None = None,
    extra: Obj | None = None,
    gated: bool = False,
) -> Obj:
    """A StatefulSet of `python3 -m http.server` members serving /data (a claim or an
    emptyDir), Ready while /data/index.html exists. `gated`: Ready only once
    /data/continue exists (the e2e suite's PauseNewPods; `resume_pod` creates it)."""
    server = {
        "name": "webserver",
        "image": "python:3",
        "command": [
            "python3",
            "-m",
            "http.server",
            "8080",
            "--bind",
            "$(POD_IP)",
            "--directory",
            "/data",
        ],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {
            "httpGet": {"path": "/index.html", "port": 8080},
            "periodSeconds": 1,
            "failureThreshold": 1,
        },
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    if gated:
        server["readinessProbe"] = {
            "exec": {"command": ["test", "-f", "/data/continue"]},
            "periodSeconds": 1,
            "failureThreshold": 1,
        }
    init = {
        "name": "page",
        "image": "debian:12",
        "command": ["sh", "-c", INIT_SCRIPT],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    spec: Obj = {
        "serviceName": name,
        "replicas": replicas,
        "podManagementPolicy": policy,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "initContainers": [init],
                "containers": [server],
            },
        },
    }
    if claims:
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data", "labels": {"app": name}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "10Mi"}},
                },
            }
        ]
    else:
        spec["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    if strategy is not None:
        spec["updateStrategy"] = strategy
    spec.update(copy.deepcopy(extra or {}))
    meta = {"name": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec}


def headless_service(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "clusterIP": "None",
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 8080}],
        },
    }


def set_env(sts: Obj, value: str) -> Obj:
    """A template change: a new revision (env var VERSION=value on the server)."""
    out = copy.deepcopy(sts)
    container = out["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "VERSION"]
    container["env"].append({"name": "VERSION", "value": value})
    return out


class Tracker:
    """Follows a set's pods through the daemon's watch and keeps, per pod name, the
    order in which things first happened to it: created (by uid), Ready, terminating,
    gone. Tests assert orderings on `log` ("ready web-0" before "created web-1").

    A watch, not polling: pods come and go within 0.1 s here, so on a loaded machine
    one poll can find several pods gone at once, and whatever order it logged them in
    would be invented (a poll that saw ss-1 and ss-2 gone together logged "gone ss-1"
    first, which read as ss-1 leaving before ss-2). The watch delivers every change in
    the order the store made them."""

    def __init__(self, api_env: PetsetEnv, name: str) -> None:
        import threading

        self.api = Api(api_env)
        self.name = name
        self.log: list[str] = []
        self.unready_peak = 0  # most pods at once that existed and were not Ready
        self._pods: dict[str, Obj] = {}  # the set's pods as of the last change seen
        self._seen: dict[str, tuple[str, bool, bool]] = {}  # name -> (uid, ready, terminating)
        self._rv: str | None = None  # the newest change handled: the watch resumes there
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Tracker:
        self._resync()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            params = {
                "namespace": NS,
                "labelSelector": f"app={self.name}",
                "resourceVersion": self._rv,
                "timeout": 0.5,  # short chunks, so a stop is noticed; each resumes at _rv
            }
            try:
                for ev in self.api.client.stream("/v1/watch/Pod", params=params):
                    self._change(str(ev["type"]), ev["object"])
                    self._rv = str(ev["resourceVersion"])
            except GoneError:  # the store compacted past _rv: start over from a list
                self._resync()
            except Exception:  # the daemon may be busy; the next chunk resumes at _rv
                time.sleep(0.1)

    def _resync(self) -> None:
        """Catch up from a list (at the start, or when the watch lost its place)."""
        pods = pods_of(self.api, self.name)
        for pname in [n for n in self._pods if n not in pods]:
            self._change("DELETED", self._pods[pname])
        for pod in pods.values():
            self._change("MODIFIED", pod)
        # Every later change to a listed pod has a higher version than the newest one.
        versions = [int(p["metadata"]["resourceVersion"]) for p in pods.values()]
        self._rv = str(max(versions)) if versions else None

    def _change(self, kind: str, pod: Obj) -> None:
        pname, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        old = self._seen.get(pname)
        if kind == "DELETED":
            if old is not None and old[0] == uid:  # not a late event about a predecessor
                del self._seen[pname], self._pods[pname]
                self.log.append(f"gone {pname}")
            return
        if old is not None and old[0] != uid:  # replaced: its DELETED came first
            self.log.append(f"gone {pname}")
        if old is None or old[0] != uid:
            self.log.append(f"created {pname}")
            old = (uid, False, False)
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        ready = is_ready(pod)
        if ready and not old[1]:
            self.log.append(f"ready {pname}")
        if terminating and not old[2]:
            self.log.append(f"terminating {pname}")
        self._seen[pname] = (uid, ready or old[1], terminating)
        self._pods[pname] = pod
        self.unready_peak = max(
            self.unready_peak, sum(not is_ready(p) for p in self._pods.values())
        )

    def index(self, entry: str) -> int:
        assert entry in self.log, f"{entry!r} never observed: {self.log}"
        return self.log.index(entry)

    def leaving(self, pod: str) -> int:
        """When `pod` was first seen terminating or gone (a fast exit skips the former)."""
        marks = [i for i, e in enumerate(self.log) if e in (f"terminating {pod}", f"gone {pod}")]
        assert marks, f"{pod} never left: {self.log}"
        return marks[0]

    def before(self, first: str, then: str) -> bool:
        return self.index(first) < self.index(then)

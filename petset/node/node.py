"""The local kubelet: watches Pods and runs each one in bubblewrap sandboxes.

`start()` first looks at what the previous daemon left in the pods directory:
sandboxes whose pods still exist are adopted as they are (same processes, same
restartCount), those whose pods are gone are stopped. `stop()` stops the
node's threads only; the pods keep running for the next daemon to adopt.

Workers are keyed by pod uid, never by name: a pod deleted and recreated under
the same name is a new worker. The watch resumes from the newest version seen
and relists after Gone (as an informer); an event for a uid whose worker has
finished is a late echo of a deleted pod and starts nothing.
"""

from __future__ import annotations

import builtins
import json
import logging
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from petset.api.errors import GoneError, NotFoundError
from petset.api.meta import Obj, name_of, namespace_of, uid_of
from petset.api.settings import Settings
from petset.node import execution, logs
from petset.node.basicvolumes import BasicVolumes
from petset.node.binding import ip_releasable
from petset.node.containers import Container, Record
from petset.node.exitwatch import ExitWatcher
from petset.node.interfaces import NetworkFiles, VolumeProvider
from petset.node.ipam import IPPool
from petset.node.paths import uid_of_dir
from petset.node.podworker import NodeContext, PodWorker
from petset.node.sandbox import is_alive
from petset.runtime.cluster import Cluster, ExecResult

WATCH_TIMEOUT = 1.0
FINISHED_MEMORY = 4096  # uids of finished pods remembered, to ignore their late events


class Node:
    def __init__(
        self,
        settings: Settings,
        cluster: Cluster,
        *,
        logger: logging.Logger,
        volumes: VolumeProvider | None = None,
        network_files: NetworkFiles | None = None,
    ) -> None:
        self.settings = settings
        self.cluster = cluster
        self.logger = logger
        self.pool = IPPool(settings.pod_cidr, settings.home / "pod-ips.json")
        self._exits = ExitWatcher(logger)
        self._ctx = NodeContext(
            settings,
            cluster,
            logger,
            self.pool,
            volumes or BasicVolumes(settings),
            network_files,
            self._exits,
        )
        self._workers: dict[str, PodWorker] = {}  # by pod uid
        self._finished: OrderedDict[str, None] = OrderedDict()  # uids of deleted pods
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- service ----------------------------------------------------------------------
    def start(self) -> None:
        self.settings.pods_dir.mkdir(parents=True, exist_ok=True)
        self._exits.start()
        self._stop.clear()
        live = {uid_of(p) for p in self.cluster.list("Pod")}
        for path in sorted(self.settings.pods_dir.iterdir()):
            if path.is_dir() and uid_of_dir(path) not in live:
                threading.Thread(target=self._stop_orphan, args=(path,), daemon=True).start()
        self._watcher = threading.Thread(target=self._watch, name="node watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching and syncing; the pods' processes keep running."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=WATCH_TIMEOUT + 2)
        workers = self._all_workers()
        for w in workers:
            w.stopping.set()
            w.wake.set()
        for w in workers:
            w.thread.join(timeout=5)
        self._exits.stop()

    def shutdown_pods(self) -> int:
        """Stop every pod gracefully (their records stay: a new start restarts them)."""
        self.stop()
        workers = self._all_workers()
        threads = [threading.Thread(target=w.stop_containers) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return len(workers)

    def _all_workers(self) -> builtins.list[PodWorker]:
        with self._lock:
            return list(self._workers.values())

    def _stop_orphan(self, path: Path) -> None:
        """A sandbox left behind by a pod that no longer exists: kill it, release what it
        held, drop its files."""
        for record_path in (path / "containers").glob("*.json"):
            try:
                record = Record(**json.loads(record_path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            if record.instance:
                Container(path, {"name": record_path.stem}, init=False).stop(2.0)
        try:
            meta = json.loads((path / "pod.json").read_text())
        except (OSError, ValueError):
            meta = None
        if meta:
            owner = [meta["owner"]] if meta.get("owner") else []
            stub: Obj = {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                    "ownerReferences": owner,
                },
            }
            try:
                self._ctx.volumes.release(stub)
            except Exception:
                self.logger.exception("releasing volumes of vanished pod %s", path.name)
            key = f"{meta['namespace']}/{meta['name']}"
            same_name = [
                p for p in self.cluster.list("Pod", meta["namespace"]) if name_of(p) == meta["name"]
            ]
            if not same_name and ip_releasable(self.cluster, stub):
                self.pool.release(key, holder=str(meta["uid"]))
        self.logger.info("stopped sandboxes of vanished pod %s", path.name)
        shutil.rmtree(path, ignore_errors=True)

    # -- watch ------------------------------------------------------------------------
    def _watch(self) -> None:
        rv: str | None = None
        while not self._stop.is_set():
            try:
                for ev in self.cluster.watch("Pod", resource_version=rv, timeout=WATCH_TIMEOUT):
                    # The initial ADDED events come in name order, not version order:
                    # resuming from the last one would replay other pods' history.
                    rv = newest(rv, ev.resource_version)
                    self._handle(ev.type, ev.object)
                    if self._stop.is_set():
                        return
            except GoneError:
                self.logger.info("pod watch: version %s compacted; listing again", rv)
                rv = None
                self._relist()
            except Exception:
                self.logger.exception("pod watch failed; retrying")
                time.sleep(1)

    def _relist(self) -> None:
        """After Gone, the deletions the watch missed: workers whose pod is not listed."""
        present = {uid_of(p) for p in self.cluster.list("Pod")}
        for w in self._all_workers():
            if w.uid not in present:
                w.update(w.pod, deleted=True)

    def _handle(self, type_: str, pod: Obj) -> None:
        uid = uid_of(pod)
        with self._lock:
            if uid in self._finished:
                return  # a late event of a pod already torn down: never start it again
            worker = self._workers.get(uid)
            if worker is not None and worker.done.is_set():
                del self._workers[uid]
                if not self._stop.is_set():
                    self._remember_finished(uid)
                    return
                worker = None
            if worker is not None:
                worker.update(pod, deleted=type_ == "DELETED")
                return
            if type_ == "DELETED":
                self._remember_finished(uid)
                return
            if self._stop.is_set():
                return
            nodename = (pod.get("spec") or {}).get("nodeName")
            if nodename and nodename != self.settings.node_name:
                return
            worker = PodWorker(self._ctx, pod)
            self._workers[uid] = worker
        worker.start()

    def _remember_finished(self, uid: str) -> None:
        self._finished[uid] = None
        while len(self._finished) > FINISHED_MEMORY:
            self._finished.popitem(last=False)

    # -- pod IO -----------------------------------------------------------------------
    def _worker(self, namespace: str, name: str) -> PodWorker:
        with self._lock:
            named = [
                w
                for w in self._workers.values()
                if namespace_of(w.pod) == namespace and name_of(w.pod) == name
            ]
        # A deleted pod's worker may linger next to its successor of the same name
        # (a StatefulSet member recreated): the live one is the pod users mean.
        live = [w for w in named if not w.done.is_set() and not w.deleted]
        if live or named:
            return (live or named)[-1]
        raise NotFoundError(f"pod {name!r} is not running on this node (namespace {namespace!r})")

    def _container(self, namespace: str, name: str, container: str | None) -> Container:
        w = self._worker(namespace, name)
        if container is None:
            if not w.mains:
                raise NotFoundError(f"pod {name!r} has no containers")
            return w.mains[0]
        for c in w.mains + w.inits:
            if c.name == container:
                return c
        raise NotFoundError(f"container {container!r} is not valid for pod {name!r}")

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
        c = self._container(namespace, name, container)
        return execution.exec_in(c, command, stdin=stdin, timeout=timeout)

    def exec_argv(self, namespace: str, name: str, container: str | None) -> builtins.list[str]:
        return execution.interactive_argv(self._container(namespace, name, container))

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail: int | None = None,
        previous: bool = False,
        timestamps: bool = False,
    ) -> str:
        c = self._container(namespace, name, container)
        if previous and c.record.restart_count < 1:
            raise NotFoundError(
                f"previous terminated container {c.name!r} in pod {name!r} not found"
            )
        path = c.log_path(previous=previous)
        return logs.read(path, tail=tail, timestamps=timestamps)

    def follow_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail: int | None = None,
        timestamps: bool = False,
    ) -> Iterator[str]:
        """Lines of the current instance's log, then new ones until it exits."""
        c = self._container(namespace, name, container)
        inst = c.instance
        path = c.log_path()

        def running() -> bool:
            return inst is not None and is_alive(inst)

        yield from logs.follow(
            path, running, tail=tail, timestamps=timestamps, stop=self._stop.is_set
        )


def newest(current: str | None, seen: str) -> str:
    """The version to resume a watch from: the highest seen (numeric versions)."""
    if current is None or not seen:
        return seen or (current or "")
    if seen.isdigit() and current.isdigit():
        return seen if int(seen) > int(current) else current
    return seen

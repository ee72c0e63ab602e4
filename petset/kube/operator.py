"""`petset operator`: petset's own controllers over a real cluster, one leader at a time.

Kubernetes' own kinds (StatefulSets, Services, PVCs, pods) are left to
Kubernetes; only the controllers of petset's kinds run here, through the same
Manager as locally. A replica that is not the leader watches nothing and writes
nothing but its attempts on the Lease. A leader that cannot renew in time exits
(the Deployment restarts it) rather than risk acting beside a new leader.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass

from petset.api.errors import AlreadyExistsError, NotFoundError
from petset.api.meta import ObjectKey, owner_reference
from petset.engines.mysql.controller import controller as mysql_controller
from petset.engines.mysql.render import RenderContext
from petset.engines.mysql.sync import ensure_object
from petset.kube.cluster import KubeCluster
from petset.kube.crds import render_crds
from petset.kube.install import LEASE_NAME
from petset.kube.leader import LeaderElector, LeaseConfig
from petset.kube.render import DEFAULT_IMAGE, render_pdb
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result
from petset.runtime.manager import Manager

log = logging.getLogger("petset.operator")
IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass(frozen=True)
class OperatorOptions:
    namespace: str | None = None  # None: every namespace
    kubeconfig: str | None = None
    lease_namespace: str | None = None
    identity: str | None = None
    member_image: str | None = None
    install_crds: bool = False
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    watch_timeout: float = 30.0


def for_kubernetes(base: Controller, pdb_api_version: str | None) -> Controller:
    """The MySQLCluster controller plus what only Kubernetes has: a PodDisruptionBudget
    (no eviction API locally) in whichever policy version the server serves, and an
    Event whenever the outcome sentence changes, so `kubectl describe` shows progress."""
    last: dict[ObjectKey, str] = {}

    def reconcile(cluster: Cluster, key: ObjectKey) -> Result:
        try:
            obj = cluster.get(key.kind, key.name, key.namespace)
        except NotFoundError:
            last.pop(key, None)
            return base.reconcile(cluster, key)
        if pdb_api_version is not None and not obj["metadata"].get("deletionTimestamp"):
            pdb = render_pdb(obj, pdb_api_version)
            pdb["metadata"]["ownerReferences"] = [owner_reference(obj)]
            ensure_object(cluster, pdb)
        result = base.reconcile(cluster, key)
        if last.get(key) != result.message:
            last[key] = result.message
            cluster.record_event(obj, type="Normal", reason="Reconciled", message=result.message)
        return result

    return dataclasses.replace(base, reconcile=reconcile)


def controllers(cluster: KubeCluster, member_image: str) -> list[Controller]:
    ctx = RenderContext(image=member_image)
    return [for_kubernetes(mysql_controller(ctx), cluster.preferred_version("policy"))]


def install_crds(cluster: KubeCluster) -> None:
    for crd in render_crds():
        try:
            cluster.create(crd)
        except AlreadyExistsError:
            live = cluster.get("CustomResourceDefinition", crd["metadata"]["name"])
            crd["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            cluster.update(crd)


def _lease_namespace(opts: OperatorOptions) -> str:
    if opts.lease_namespace:
        return opts.lease_namespace
    try:
        with open(IN_CLUSTER_NAMESPACE_FILE) as f:
            return f.read().strip()
    except OSError:
        return opts.namespace or "default"


def lease_config(opts: OperatorOptions) -> LeaseConfig:
    identity = (
        opts.identity or os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    )
    return LeaseConfig(
        name=LEASE_NAME, namespace=_lease_namespace(opts), identity=identity,
        lease_duration=opts.lease_duration, renew_deadline=opts.renew_deadline,
        retry_period=opts.retry_period,
    )  # fmt: skip


def lead(cluster: KubeCluster, elector: LeaderElector, opts: OperatorOptions, stop: threading.Event) -> bool:  # fmt: skip  # noqa: E501
    """Run the controllers while leading; False when leadership was lost."""
    manager = Manager(
        cluster, controllers(cluster, opts.member_image or DEFAULT_IMAGE),
        logger=logging.getLogger("petset.manager"), watch_timeout=opts.watch_timeout,
    )  # fmt: skip
    manager.start()
    try:
        return elector.keep_renewing(stop)
    finally:
        manager.stop(timeout=2.0)


def run_operator(opts: OperatorOptions, stop: threading.Event | None = None) -> int:
    """Blocks until SIGTERM/SIGINT (exit 0) or lost leadership (exit 1)."""
    cluster = KubeCluster.from_config(opts.kubeconfig, namespace=opts.namespace)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    log.info("petset operator: Kubernetes %s, watching %s", cluster.server_version(),
             opts.namespace or "all namespaces")  # fmt: skip
    if opts.install_crds:
        install_crds(cluster)
    elector = LeaderElector(cluster, lease_config(opts))
    if not elector.acquire(stop):
        return 0
    kept = lead(cluster, elector, opts, stop)
    if kept:
        elector.release()
        log.info("stopped; lease released")
        return 0
    return 1

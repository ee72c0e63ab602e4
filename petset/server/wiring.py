"""What the daemon runs, built in one place: store, cluster, controllers, node, DNS, proxy.

Start order follows the dependencies (the cluster exists before anything that
watches it; the node is the cluster's pod I/O before controllers need exec);
stop order is the daemon's graceful shutdown: the manager first, so no new
decisions are taken, then node threads, DNS and the proxy. Pods keep running:
a restarted daemon re-adopts them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from petset.api.errors import NotFoundError
from petset.api.settings import Settings
from petset.controllers.registry import all_controllers
from petset.controllers.volumes import ensure_default_storage_class
from petset.engines.registry import engine_controllers, local_render_context
from petset.node.clusterhosts import ClusterHosts
from petset.node.dns import ClusterDNS
from petset.node.kernelproxy import KernelProxy, choose_mode, remove_table
from petset.node.node import Node
from petset.node.proxy import ServiceProxy
from petset.node.volumes import VolumeManager, reclaim_controller
from petset.runtime.cluster import Cluster
from petset.runtime.local import LocalCluster
from petset.runtime.manager import Manager
from petset.store import Store


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> object: ...


@dataclass
class Components:
    settings: Settings
    cluster: LocalCluster
    node: Node | None = None  # logs -f, interactive exec, pod shutdown
    services: list[tuple[str, Service]] = field(default_factory=list)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("petset"))
    # Set when shutdown begins: streams (watch) end at their next chunk.
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for name, svc in self.services:
            svc.start()
            self.logger.info("started %s", name, extra={"part": name})

    def stop(self) -> None:
        self.stopping.set()
        for name, svc in self.services:
            try:
                svc.stop()
            except Exception:  # one broken part must not keep the others running
                self.logger.exception("stopping %s failed", name, extra={"part": name})
            else:
                self.logger.info("stopped %s", name, extra={"part": name})
        self.cluster.store.close()


def ensure_default_namespace(cluster: Cluster) -> None:
    try:
        cluster.get("Namespace", "default")
    except NotFoundError:
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})


def build(settings: Settings, logger: logging.Logger) -> Components:
    """Everything the daemon serves, not started yet (the caller starts and stops it)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(Store(settings.db_path))
    comps = Components(settings, cluster, logger=logger)
    ensure_default_namespace(cluster)
    ensure_default_storage_class(cluster)
    volumes = VolumeManager(settings, cluster, logger=logging.getLogger("petset.volumes"))
    engines = engine_controllers(
        local_render_context(settings.cluster_domain, home=settings.home), home=settings.home
    )
    controllers = [*all_controllers(settings), reclaim_controller(volumes), *engines]
    manager = Manager(cluster, controllers, logger=logging.getLogger("petset.manager"))
    dns = ClusterDNS(settings, cluster, logger=logging.getLogger("petset.dns"))
    # resolv.conf and hosts for pods; the cluster's names in hosts when pods cannot
    # reach the DNS on port 53 (an unprivileged daemon).
    hosts = ClusterHosts(settings, dns, logger=logging.getLogger("petset.dns"))
    node = Node(
        settings,
        cluster,
        logger=logging.getLogger("petset.node"),
        volumes=volumes,
        network_files=hosts,
    )
    cluster.set_pod_io(node)
    comps.node = node
    proxy = build_proxy(settings, cluster, logger)
    comps.services += [
        ("manager", manager),
        ("node", node),
        ("dns", dns),
        ("cluster-hosts", hosts),
        ("proxy", proxy),
    ]
    return comps


def build_proxy(settings: Settings, cluster: Cluster, logger: logging.Logger) -> Service:
    """The ClusterIP data path: nftables DNAT when it can (root, nft), else the
    userspace proxy; the choice goes to the log and to `petset daemon status`."""
    choice = choose_mode(settings)
    logger.info("service proxy: %s (%s)", choice.mode, choice.reason)
    (settings.home / "proxy-mode").write_text(f"{choice.mode} ({choice.reason})\n")
    proxy_logger = logging.getLogger("petset.proxy")
    if choice.mode == "kernel":
        return KernelProxy(settings, cluster, logger=proxy_logger)
    # Rules a kernel-mode run left would shadow the userspace listeners.
    remove_table(settings.home)
    return ServiceProxy(settings, cluster, logger=proxy_logger)

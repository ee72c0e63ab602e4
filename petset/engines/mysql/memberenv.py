"""A member pod's identity and settings, from the environment the StatefulSet
template sets (render.py): shared by the member commands and the agent."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from petset.engines.mysql import sql

AGENT_PORT = 8306


@dataclass(frozen=True)
class Env:
    pod_name: str
    pod_ip: str
    namespace: str
    service: str
    cluster_domain: str
    datadir: Path
    confdir: Path
    socket: str
    cluster_json: Path
    admin: sql.Credentials
    repl: sql.Credentials
    app_password: str
    initialized: bool
    agent_port: int

    @property
    def ordinal(self) -> int:
        return int(self.pod_name.rsplit("-", 1)[1])

    @property
    def fqdn(self) -> str:
        return f"{self.pod_name}.{self.service}.{self.namespace}.svc.{self.cluster_domain}"

    @classmethod
    def from_environ(cls) -> Env:
        e = os.environ
        return cls(
            pod_name=e["POD_NAME"],
            pod_ip=e["POD_IP"],
            namespace=e.get("POD_NAMESPACE", "default"),
            service=e["SERVICE_NAME"],
            cluster_domain=e.get("CLUSTER_DOMAIN", "cluster.local"),
            datadir=Path(e.get("DATADIR", "/var/lib/mysql")),
            confdir=Path(e.get("CONFDIR", "/etc/mysql/petset")),
            socket=e.get("MYSQL_SOCKET", "/run/mysqld/mysqld.sock"),
            cluster_json=Path(e.get("CLUSTER_JSON", "/etc/mysql/petset-src/cluster.json")),
            admin=sql.Credentials("petset_admin", e["ADMIN_PASSWORD"]),
            repl=sql.Credentials("petset_repl", e["REPLICATION_PASSWORD"]),
            app_password=e.get("APP_PASSWORD", ""),
            initialized=e.get("CLUSTER_INITIALIZED", "false") == "true",
            agent_port=int(e.get("AGENT_PORT", str(AGENT_PORT))),
        )


def log(msg: str) -> None:
    print(f"petset-member: {msg}", file=sys.stderr, flush=True)

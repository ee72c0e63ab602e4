"""Daemon settings: a frozen value passed to every component, never a global.

Reading the environment happens in `server`/`cli` (`Settings.from_env` is the
only place that looks at os.environ and it does no other I/O).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "petset"


PERSISTED = ("pod_cidr", "service_cidr", "dns_address", "dns_port", "cluster_domain")


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_default_home)
    # Pod IPs come from this loopback range; a pod keeps its IP for its namespace/name.
    pod_cidr: str = "127.10.0.0/16"
    # ClusterIP Services get an address from this loopback range.
    service_cidr: str = "127.20.0.0/16"
    # Cluster DNS: host tools query dns_address:dns_port; pods get it in resolv.conf
    # (resolv.conf cannot name a port, so pods need port 53 where the user may bind it).
    dns_address: str = "127.0.53.53"
    dns_port: int = 53
    cluster_domain: str = "cluster.local"
    # Kubernetes' CrashLoopBackOff: 10 s doubling to 5 min; tests shorten it.
    backoff_base_seconds: float = 10.0
    backoff_max_seconds: float = 300.0
    # Optional TCP listener for the API (loopback only, bearer token required).
    tcp_listen: str | None = None
    node_name: str = "local"
    # ClusterIP data path: "kernel" (nftables DNAT, root only), "userspace" (the
    # asyncio proxy) or "auto" (kernel when root with a working nft).
    proxy_mode: str = "auto"

    @property
    def socket_path(self) -> Path:
        return self.home / "petset.sock"

    @property
    def db_path(self) -> Path:
        return self.home / "state.db"

    @property
    def log_path(self) -> Path:
        return self.home / "daemon.log"

    @property
    def pid_path(self) -> Path:
        return self.home / "daemon.pid"

    @property
    def token_path(self) -> Path:
        return self.home / "token"

    @property
    def pods_dir(self) -> Path:
        return self.home / "pods"

    @property
    def volumes_dir(self) -> Path:
        return self.home / "volumes"

    @property
    def saved_path(self) -> Path:
        return self.home / "settings.json"

    def persisted(self) -> dict[str, Any]:
        """Settings a state directory is tied to: pods keep their IPs, Services
        their ClusterIPs and resolv.conf its nameserver across daemon restarts."""
        return {name: getattr(self, name) for name in PERSISTED}

    def with_saved(self, saved: dict[str, Any]) -> tuple[Settings, list[str]]:
        """These settings with the state directory's saved values; a warning for
        each value asked for now that the directory does not use."""
        changes = {k: v for k, v in saved.items() if k in PERSISTED}
        warnings = [
            f"{k}={getattr(self, k)!r} ignored: {self.home} was set up with {v!r}; "
            "use a new PETSET_HOME to change it"
            for k, v in changes.items()
            if getattr(self, k) != v
        ]
        return replace(self, **changes), warnings

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Settings from PETSET_* variables; anything unset keeps its default."""
        env = dict(os.environ if environ is None else environ)
        changes: dict[str, Any] = {}
        if env.get("PETSET_HOME"):
            changes["home"] = Path(env["PETSET_HOME"])
        for var, attr, conv in (
            ("PETSET_POD_CIDR", "pod_cidr", str),
            ("PETSET_SERVICE_CIDR", "service_cidr", str),
            ("PETSET_DNS_ADDRESS", "dns_address", str),
            ("PETSET_DNS_PORT", "dns_port", int),
            ("PETSET_BACKOFF_BASE", "backoff_base_seconds", float),
            ("PETSET_BACKOFF_MAX", "backoff_max_seconds", float),
            ("PETSET_TCP_LISTEN", "tcp_listen", str),
            ("PETSET_PROXY_MODE", "proxy_mode", str),
        ):
            if env.get(var):
                changes[attr] = conv(env[var])
        return replace(cls(), **changes)

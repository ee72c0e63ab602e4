"""Stable loopback addresses: one per key (namespace/name), persisted across restarts.

The table is a small JSON file written atomically (temp file, fsync, rename),
so a crash leaves either the old table or the new one, never a torn one.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from pathlib import Path


class PoolExhaustedError(Exception):
    pass


class IPPool:
    """Addresses from `cidr`, skipping the network address and .1 of the range
    (127.x.y.1 stays free for hosts that bind the gateway-like address)."""

    def __init__(self, cidr: str, state_path: Path) -> None:
        self._net = ipaddress.ip_network(cidr, strict=False)
        self._path = state_path
        self._lock = threading.Lock()
        self._table: dict[str, str] = self._load()

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in (data.get("allocations") or {}).items()}

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(self._path.name + f".tmp{os.getpid()}")
        with open(tmp, "w") as f:
            json.dump({"cidr": str(self._net), "allocations": self._table}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)
        fd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def allocate(self, key: str) -> str:
        """The key's address: the one it already holds, else the lowest free one."""
        with self._lock:
            if key in self._table:
                return self._table[key]
            used = set(self._table.values())
            first = int(self._net.network_address) + 2
            last = int(self._net.broadcast_address) - 1
            for value in range(first, last + 1):
                ip = str(ipaddress.ip_address(value))
                if ip not in used:
                    self._table[key] = ip
                    self._save()
                    return ip
            raise PoolExhaustedError(f"no free address left in {self._net}")

    def release(self, key: str) -> None:
        with self._lock:
            if self._table.pop(key, None) is not None:
                self._save()

    def lookup(self, key: str) -> str | None:
        with self._lock:
            return self._table.get(key)

    def allocations(self) -> dict[str, str]:
        with self._lock:
            return dict(self._table)

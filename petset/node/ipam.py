"""Stable loopback addresses: one per key (namespace/name), persisted across restarts.

Each key also records its holder (the uid of the pod that allocated it last):
a deleted pod releases its address only while it still holds it, so the
teardown of an old pod never takes the address of its same-name successor.

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
        self._table, self._holders = self._load()

    def _load(self) -> tuple[dict[str, str], dict[str, str]]:
        try:
            data = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}, {}
        table = {str(k): str(v) for k, v in (data.get("allocations") or {}).items()}
        holders = {str(k): str(v) for k, v in (data.get("holders") or {}).items()}
        return table, holders

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(self._path.name + f".tmp{os.getpid()}")
        with open(tmp, "w") as f:
            data = {"cidr": str(self._net), "allocations": self._table, "holders": self._holders}
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)
        fd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def allocate(self, key: str, holder: str | None = None) -> str:
        """The key's address: the one it already holds, else the lowest free one.
        `holder` (a pod uid) becomes the key's holder."""
        with self._lock:
            if key in self._table:
                if holder is not None and self._holders.get(key) != holder:
                    self._holders[key] = holder
                    self._save()
                return self._table[key]
            used = set(self._table.values())
            first = int(self._net.network_address) + 2
            last = int(self._net.broadcast_address) - 1
            for value in range(first, last + 1):
                ip = str(ipaddress.ip_address(value))
                if ip not in used:
                    self._table[key] = ip
                    if holder is not None:
                        self._holders[key] = holder
                    self._save()
                    return ip
            raise PoolExhaustedError(f"no free address left in {self._net}")

    def release(self, key: str, holder: str | None = None) -> bool:
        """Free the key's address; with `holder`, only if that pod still holds it
        (a successor of the same name may have taken the key over). True if freed."""
        with self._lock:
            if key not in self._table:
                return False
            if holder is not None and self._holders.get(key, holder) != holder:
                return False
            del self._table[key]
            self._holders.pop(key, None)
            self._save()
            return True

    def lookup(self, key: str) -> str | None:
        with self._lock:
            return self._table.get(key)

    def allocations(self) -> dict[str, str]:
        with self._lock:
            return dict(self._table)

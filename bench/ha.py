"""A running 3-member cluster with a recorded writer: what the HA benchmarks share."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.chaos.history import PrimaryMonitor, Writer, check, prepare, read_ids
from bench.harness import Daemon, daemon, wait_for
from bench.mysqlkit import (
    Endpoint,
    all_healthy,
    app_endpoint,
    apply_cluster,
    cluster_status,
    member_ip,
    service_ip,
    wait_cluster,
)

MEMBERS = ("mysql-0", "mysql-1", "mysql-2")


@dataclass
class HA:
    d: Daemon
    base: Path
    rw: Endpoint
    members: dict[str, Endpoint]

    def primary(self) -> str | None:
        st = cluster_status(self.d)
        return str(st["primary"]) if st.get("primary") else None

    def wait_healthy(self, timeout: float = 120) -> float:
        return wait_for("3 healthy members", lambda: all_healthy(self.d), timeout, 0.1)

    def wait_new_primary(self, old: str, timeout: float = 60) -> float:
        def changed() -> bool:
            p = self.primary()
            return p is not None and p != old

        return wait_for(f"a primary other than {old}", changed, timeout, 0.05)

    def monitor(self) -> PrimaryMonitor:
        eps = list(self.members.values())
        return PrimaryMonitor(lambda: eps).start()

    def writer(self, first_id: int) -> Writer:
        return Writer(self.rw, first_id=first_id).start()

    def verify(self, writer: Writer) -> tuple[int, int, str]:
        """(acknowledged, lost, summary) of `writer`'s history against the rw endpoint now."""
        present = wait_for_ids(self.rw)
        verdict = check(writer.ops, present)
        return verdict.acknowledged, len(verdict.lost), verdict.summary()

    def keep(self, dest: Path, label: str) -> Path:
        """Copy the home's logs and the daemon's view for inspection after a bad round."""
        out = dest / label
        out.mkdir(parents=True, exist_ok=True)
        for src in self.d.home.glob("pods/*/logs"):
            shutil.copytree(src, out / src.parent.name, dirs_exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copy(self.d.home / "daemon.log", out / "daemon.log")
        for args, name in (
            (("events",), "events.txt"),
            (("mysql", "status", "mysql"), "status.txt"),
            (("get", "pods", "-o", "wide"), "pods.txt"),
        ):
            with contextlib.suppress(Exception):
                (out / name).write_text(self.d.petset(*args, timeout=30, check=False))
        return out


def wait_for_ids(ep: Endpoint, timeout: float = 60) -> set[int]:
    """The ids a writable server holds, read through `ep` (retried until one answers).

    A read-only answer (e.g. the rw Service still routing to a restarted old
    primary) is not the cluster's state: it is retried, and reported by
    `stale_rw` rather than counted as lost writes.
    """
    found: list[set[int]] = []

    def read() -> bool:
        ids, _, writable = read_ids(ep)
        if writable:
            found.append(ids)
        return writable

    wait_for(f"reading the history table from a writable server via {ep.host}", read, timeout, 0.5)
    return found[-1]


def stale_rw(ep: Endpoint) -> str | None:
    """Which server answers through `ep` when it is not writable (None when it is)."""
    try:
        _, host, writable = read_ids(ep)
    except Exception as err:
        return f"no answer: {err}"
    return None if writable else f"{host} (read_only)"


@contextlib.contextmanager
def ha_cluster(prefix: str) -> Iterator[HA]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as tmp, daemon(Path(tmp)) as d:
        d.start()
        apply_cluster(d, Path(tmp))
        wait_cluster(d)
        rw = app_endpoint(d, service_ip(d, "mysql-rw"))
        members = {m: app_endpoint(d, member_ip(d, m)) for m in MEMBERS}
        prepare(rw)
        time.sleep(0.5)
        yield HA(d, Path(tmp), rw, members)

"""Faults the chaos suite injects into a running HA cluster (bench.ha.HA).

Each fault returns a short sentence saying what it did. Processes are found by
the node's container records and killed by pid, never by name.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable

from bench.ha import HA, MEMBERS
from bench.harness import alive
from bench.mysqlkit import kill_pid, mariadbd_pid

Fault = Callable[[HA], str]


def _replica(ha: HA) -> str:
    primary = ha.primary()
    return random.choice([m for m in MEMBERS if m != primary])


def _kill_member(ha: HA, member: str, sig: int = signal.SIGKILL) -> int:
    pid = mariadbd_pid(ha.d, member)
    if pid is None:
        raise RuntimeError(f"no mariadbd pid for {member}")
    kill_pid(pid, sig)
    return pid


def kill_primary(ha: HA) -> str:
    member = ha.primary() or "mysql-0"
    _kill_member(ha, member)
    return f"kill -9 mariadbd of the primary {member}"


def kill_replica(ha: HA) -> str:
    member = _replica(ha)
    _kill_member(ha, member)
    return f"kill -9 mariadbd of replica {member}"


def kill_daemon(ha: HA) -> str:
    pid = ha.d.pid()
    if pid is None:
        raise RuntimeError("no daemon runs")
    os.kill(pid, signal.SIGKILL)
    time.sleep(2)
    ha.d.start()
    return f"kill -9 the daemon (pid {pid}), restarted 2 s later"


def kill_daemon_then_primary(ha: HA) -> str:
    pid = ha.d.pid()
    if pid is None:
        raise RuntimeError("no daemon runs")
    member = ha.primary() or "mysql-0"
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    _kill_member(ha, member)
    time.sleep(2)
    ha.d.start()
    return f"kill -9 the daemon, then the primary {member}'s mariadbd; daemon restarted"


def stop_primary(ha: HA) -> str:
    member = ha.primary() or "mysql-0"
    pid = _kill_member(ha, member, signal.SIGSTOP)
    deadline = time.monotonic() + 60
    while ha.primary() in (member, None) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid):
        kill_pid(pid, signal.SIGCONT)  # a primary that comes back must not take writes
        return f"SIGSTOP of the primary {member}; SIGCONT after the failover (it was not fenced)"
    return f"SIGSTOP of the primary {member} (fenced: killed by petset)"


def kill_all(ha: HA) -> str:
    pids = [mariadbd_pid(ha.d, m) for m in MEMBERS]
    for pid in pids:
        if pid is not None:
            kill_pid(pid)
    return "kill -9 of every member's mariadbd at once"


def corrupt_replica(ha: HA) -> str:
    """Overwrite the first pages of a replica's system tablespace, then kill it."""
    member = _replica(ha)
    pvc = ha.d.get("PersistentVolumeClaim", f"data-{member}")
    datadir = ha.d.home / "volumes" / str(pvc["spec"]["volumeName"])
    with open(datadir / "ibdata1", "r+b") as f:
        f.write(os.urandom(64 * 1024))
    _kill_member(ha, member)
    return f"corrupted ibdata1 of replica {member} and killed it"


FAULTS: dict[str, Fault] = {
    "kill-primary": kill_primary,
    "kill-replica": kill_replica,
    "kill-daemon": kill_daemon,
    "kill-daemon-then-primary": kill_daemon_then_primary,
    "sigstop-primary": stop_primary,
    "kill-all": kill_all,
    "corrupt-replica": corrupt_replica,
}

"""Benchmark 1: bring-up of a 3-member MySQLCluster, nothing to replicating.

petset: a running daemon (started before the clock), `petset apply -f` of the
example, until `status.members` shows 3 healthy members with a primary.
Baseline: the same done by a script (mariadb-install-db x3 in parallel, three
mariadbd on loopback addresses, a replication user, CHANGE MASTER ...
MASTER_USE_GTID=slave_pos, START SLAVE, until both replica threads run).
Runs alternate A-B-B-A; the goal is petset <= 1.5x the script.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.harness import Metric, Report, daemon, median, random_net
from bench.mysqlkit import apply_cluster, raw_cluster, wait_cluster


def raw_once(base: Path, net: str) -> float:
    start = time.monotonic()
    with raw_cluster(base, net):
        return time.monotonic() - start


def petset_once(base: Path) -> tuple[float, float]:
    """Seconds from apply to 3 healthy members, and the daemon's own start-up time."""
    with daemon(base) as d:
        t0 = time.monotonic()
        d.start()
        started = time.monotonic() - t0
        t1 = time.monotonic()
        apply_cluster(d, base)
        wait_cluster(d)
        return time.monotonic() - t1, started


def run(*, quick: bool = False) -> Report:
    report = Report("bringup")
    order = ["raw", "petset"] if quick else ["raw", "petset", "petset", "raw"] * 2
    raw: list[float] = []
    pet: list[float] = []
    daemon_start: list[float] = []
    for i, which in enumerate(order):
        with tempfile.TemporaryDirectory(prefix=f"bench-bringup-{i}-") as tmp:
            if which == "raw":
                raw.append(raw_once(Path(tmp), random_net()))
            else:
                secs, started = petset_once(Path(tmp))
                pet.append(secs)
                daemon_start.append(started)
        print(f"  run {i + 1}/{len(order)} {which}: {(raw if which == 'raw' else pet)[-1]:.2f} s")
    ratio = median(pet) / median(raw)
    report.add(
        Metric(
            "3-member bring-up (median)",
            median(pet),
            "s",
            baseline=median(raw),
            goal="<= 1.5x",
            met=ratio <= 1.5,
            note="daemon already running; its start-up "
            f"(median {median(daemon_start):.2f} s) not counted",
        )
    )
    report.details = {"petset_s": pet, "raw_s": raw, "daemon_start_s": daemon_start}
    return report

"""Benchmark 1: bring-up of a 3-member MySQLCluster, nothing to replicating.

petset: a running daemon (started before the clock), `petset apply -f` of the
example, until `status.members` shows 3 healthy members with a primary.
Baseline: the same done by a script (mariadb-install-db x3 in parallel, three
mariadbd on loopback addresses, a replication user, CHANGE MASTER ...
MASTER_USE_GTID=slave_pos, START SLAVE, until both replica threads run).
Runs alternate A-B-B-A; the goal is petset <= 1.5x the script.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from bench.harness import Metric, Report, daemon, median, random_net
from bench.mysqlkit import apply_cluster, raw_cluster, wait_cluster


def raw_once(base: Path, net: str) -> float:
    start = time.monotonic()
    with raw_cluster(base, net):
        return time.monotonic() - start


BOOTSTRAPPED = re.compile(r"bootstrapped in ([\d.]+)s")


def petset_once(base: Path) -> tuple[float, float, dict[str, float]]:
    """Seconds from apply to 3 healthy members, the daemon's own start-up time,
    and where the seconds went (the CLI's apply, each member's data bootstrap)."""
    with daemon(base) as d:
        t0 = time.monotonic()
        d.start()
        started = time.monotonic() - t0
        t1 = time.monotonic()
        apply_cluster(d, base)
        phases = {"apply_cli_s": time.monotonic() - t1}
        wait_cluster(d)
        total = time.monotonic() - t1
        for i in range(3):
            log = d.petset("logs", f"mysql-{i}", "-c", "init-data", check=False)
            if m := BOOTSTRAPPED.search(log):
                phases[f"mysql-{i}_bootstrap_s"] = float(m.group(1))
        return total, started, phases


def run(*, quick: bool = False) -> Report:
    report = Report("bringup")
    order = ["raw", "petset"] if quick else ["raw", "petset", "petset", "raw"] * 2
    raw: list[float] = []
    pet: list[float] = []
    daemon_start: list[float] = []
    phases: list[dict[str, float]] = []
    for i, which in enumerate(order):
        with tempfile.TemporaryDirectory(prefix=f"bench-bringup-{i}-") as tmp:
            if which == "raw":
                raw.append(raw_once(Path(tmp), random_net()))
            else:
                secs, started, where = petset_once(Path(tmp))
                pet.append(secs)
                daemon_start.append(started)
                phases.append(where)
        extra = "" if which == "raw" else "  " + " ".join(f"{k}={v:.2f}" for k, v in where.items())
        last = (raw if which == "raw" else pet)[-1]
        print(f"  run {i + 1}/{len(order)} {which}: {last:.2f} s{extra}")
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
            f"(median {median(daemon_start):.2f} s) not counted; `petset apply` itself "
            f"(the CLI's start-up) median {median([p['apply_cli_s'] for p in phases]):.2f} s",
        )
    )
    report.details = {
        "petset_s": pet,
        "raw_s": raw,
        "daemon_start_s": daemon_start,
        "petset_phases": phases,
        "load": os.getloadavg(),
    }
    return report

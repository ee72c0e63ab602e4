"""Benchmark 5: clone throughput of a new replica against raw mariadb-backup | mbstream.

A 3-member cluster is loaded with ~200 MB (100 MB in quick mode), then scaled
by one member (merge patch of MySQLCluster spec.replicas); the new member's
init-data log says "cloned N MB from DONOR in S s" (stream, extract, prepare).
The baseline, in the same run and from the same donor: `mariadb-backup
--backup --stream=xbstream --slave-info --safe-slave-backup | mbstream -x`
then `--prepare`, by a shell in the donor's sandbox into its own volume (the
same disk). Throughput = MB / seconds; goal petset >= 0.8x raw. A-B-B-A.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from bench.harness import Daemon, Metric, Report, daemon, median, wait_for
from bench.mysqlkit import (
    Endpoint,
    admin_endpoint,
    app_endpoint,
    apply_cluster,
    member_ip,
    query,
    service_ip,
    wait_cluster,
)

CLONED = re.compile(r"cloned ([\d.]+) MB from ([\d.]+) in ([\d.]+)s(?: \(([^;)]*))?")


def load(ep: Endpoint, mb: int) -> int:
    """Fill bench.fill with about `mb` MB by doubling; returns the row count."""
    query(ep, "CREATE DATABASE IF NOT EXISTS bench")
    query(
        ep,
        "CREATE TABLE IF NOT EXISTS bench.fill "
        "(id BIGINT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1000))",
    )
    query(ep, "INSERT INTO bench.fill (pad) SELECT REPEAT(MD5(seq), 31) FROM bench.seq_1_to_1000")
    rows = 1000
    while rows * 1100 < mb * 1e6:
        query(ep, "INSERT INTO bench.fill (pad) SELECT pad FROM bench.fill", timeout=600)
        rows *= 2
    return rows


def caught_up(d: Daemon, replicas: int) -> bool:
    """Every member has applied what the primary has, asked of the servers
    themselves (status is re-read every few seconds). A donor still applying the
    load writes redo faster than a backup copies it and fails it, and is not what
    either side of the comparison measures."""
    positions = set()
    for i in range(replicas):
        ep = admin_endpoint(d, member_ip(d, f"mysql-{i}"))
        positions.add(query(ep, "SELECT @@gtid_binlog_pos")[0][0])
    return len(positions) == 1


def volume_of(d: Daemon, member: str) -> Path:
    pvc = d.get("PersistentVolumeClaim", f"data-{member}")
    return d.home / "volumes" / str(pvc["spec"]["volumeName"])


def raw_clone(d: Daemon, donor: str) -> tuple[float, float]:
    """(MB, seconds) of `mariadb-backup | mbstream -x` + prepare, inside `donor`'s sandbox.

    Inside, because mariadb-backup takes the data directory from the server
    (/var/lib/mysql as the sandbox sees it). The copy lands in the donor's own
    volume (the same disk a new member's volume is on) and is removed after.
    """
    admin = admin_endpoint(d, member_ip(d, donor))
    target = "/var/lib/mysql/.bench-raw-clone"
    script = (
        f"set -o pipefail; rm -rf {target}; mkdir -p {target}; date +%s.%N; "
        f"mariadb-backup --backup --stream=xbstream --target-dir={target} "
        f"--host={admin.host} --user={admin.user} --password='{admin.password}' "
        f"--slave-info --safe-slave-backup 2>/tmp/raw-backup.err | mbstream -x -C {target} "
        f"|| {{ tail -20 /tmp/raw-backup.err; exit 1; }}; du -sb {target}; "
        f"mariadb-backup --prepare --target-dir={target} 2>/tmp/raw-prepare.err "
        f"|| {{ tail -20 /tmp/raw-prepare.err; exit 1; }}; date +%s.%N"
    )
    # Timed inside the sandbox: `petset exec`'s own start-up is not the clone's cost.
    try:
        out = d.petset("exec", donor, "-c", "agent", "--", "bash", "-c", script, timeout=900)
    finally:
        d.petset("exec", donor, "-c", "agent", "--", "rm", "-rf", target, check=False)
    words = out.split()
    size = int(words[1]) / 1e6
    return size, float(words[-1]) - float(words[0])


def petset_clone(d: Daemon, replicas: int) -> tuple[float, float, str, str]:
    """Scale to `replicas`; (MB, seconds, donor IP, phases) from the new member's
    clone log line (phases: "stream S, prepare S, position S")."""
    with d.http() as c:
        c.patch(
            "/v1/objects/MySQLCluster/mysql",
            params={"namespace": "default"},
            json={"spec": {"replicas": replicas}},
        ).raise_for_status()
    wait_cluster(d, replicas=replicas, timeout=600)
    log = d.petset("logs", f"mysql-{replicas - 1}", "-c", "init-data")
    m = CLONED.search(log)
    if m is None:
        raise RuntimeError(f"no clone line in mysql-{replicas - 1}'s init-data log: {log[-300:]}")
    return float(m.group(1)), float(m.group(3)), m.group(2), m.group(4) or ""


def run(*, quick: bool = False) -> Report:
    report = Report("clone")
    mb = 100 if quick else 200
    raw: list[float] = []
    pet: list[float] = []
    phases: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp, daemon(Path(tmp)) as d:
        d.start()
        apply_cluster(d, Path(tmp))
        wait_cluster(d)
        rw = app_endpoint(d, service_ip(d, "mysql-rw"))
        # The rw Service follows the primary pod's readiness probe, which can
        # pass up to a probe period after the cluster reports itself healthy.
        wait_for("mysql-rw answers", lambda: bool(query(rw, "SELECT 1")), 60)
        rows = load(rw, mb)
        wait_cluster(d)
        wait_for("replicas caught up with the load", lambda: caught_up(d, 3), 600)
        donor = "mysql-1"  # replaced by the donor petset reports once it has cloned
        order = ["raw", "petset", "raw"] if quick else ["raw", "petset", "petset", "raw"]
        replicas = 3
        for which in order:
            if which == "raw":
                size, secs = raw_clone(d, donor)
                raw.append(size / secs)
            else:
                replicas += 1
                size, secs, donor_ip, where = petset_clone(d, replicas)
                pet.append(size / secs)
                phases.append(where)
                donor = next(
                    f"mysql-{i}" for i in range(replicas) if member_ip(d, f"mysql-{i}") == donor_ip
                )
            extra = f" ({phases[-1]})" if which == "petset" and phases[-1] else ""
            print(f"  {which}: {size:.0f} MB in {secs:.2f} s from {donor}{extra}")
    ratio = median(pet) / median(raw)
    report.add(
        Metric(
            "clone throughput (median)",
            median(pet),
            "MB/s",
            baseline=median(raw),
            goal=">= 0.8x",
            met=ratio >= 0.8,
            note=f"{rows} rows (~{mb} MB) loaded; raw = shell pipe in the donor's sandbox",
        )
    )
    report.details = {"petset_mb_s": pet, "raw_mb_s": raw, "petset_phases": phases}
    return report

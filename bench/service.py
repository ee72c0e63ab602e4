"""Benchmark 6: the rw Service (userspace ClusterIP proxy) against a direct connection.

One petset MySQLCluster; sysbench as the `app` user, oltp_point_select and
oltp_read_write, alternately against the primary's pod IP (direct) and the
`mysql-rw` Service IP (proxied), A-B-B-A, repeated. Goal: proxied QPS >= 0.9x
direct. Latency percentiles come from sysbench's histogram.
(bench/proxy_bench.py measures the proxy alone against redis and a bare mariadbd.)
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from bench.harness import Daemon, Metric, Report, daemon, median
from bench.mysqlkit import (
    Endpoint,
    app_endpoint,
    apply_cluster,
    cluster_status,
    member_ip,
    query,
    service_ip,
    wait_cluster,
)

HIST = re.compile(r"^\s*([\d.]+)\s+\|\**\s+(\d+)\s*$")


def sysbench(ep: Endpoint, test: str, verb: str, threads: int, seconds: int) -> str:
    argv = ["sysbench", test, "--db-driver=mysql", f"--mysql-host={ep.host}"]
    argv += [f"--mysql-port={ep.port}", f"--mysql-user={ep.user}"]
    argv += [f"--mysql-password={ep.password}", "--mysql-db=sbtest", "--tables=2"]
    argv += ["--table-size=20000", f"--threads={threads}", f"--time={seconds}", "--histogram=on"]
    res = subprocess.run([*argv, verb], capture_output=True, text=True, timeout=seconds + 120)
    if res.returncode != 0:
        raise RuntimeError(f"sysbench {test} {verb}: {res.stdout[-500:]}{res.stderr[-500:]}")
    return res.stdout


def parse(out: str) -> dict[str, float]:
    """QPS and latency percentiles (ms) from a sysbench run with --histogram=on."""
    qps = 0.0
    hist: list[tuple[float, int]] = []
    for line in out.splitlines():
        words = line.split()
        if line.strip().startswith("queries:"):
            qps = float(words[2].strip("("))
        elif m := HIST.match(line):
            hist.append((float(m.group(1)), int(m.group(2))))
    total = sum(c for _, c in hist)
    result = {"qps": qps}
    for p in (50, 95, 99):
        seen = 0
        for value, count in hist:
            seen += count
            if seen >= total * p / 100:
                result[f"p{p}_ms"] = value
                break
    return result


def compare(
    direct: Endpoint, proxied: Endpoint, test: str, threads: int, rounds: int, seconds: int
) -> dict[str, list[dict[str, float]]]:
    runs: dict[str, list[dict[str, float]]] = {"direct": [], "proxied": []}
    for _ in range(rounds):
        for which in ("direct", "proxied", "proxied", "direct"):
            ep = direct if which == "direct" else proxied
            runs[which].append(parse(sysbench(ep, test, "run", threads, seconds)))
    return runs


def endpoints(d: Daemon) -> tuple[Endpoint, Endpoint]:
    primary = str(cluster_status(d)["primary"])
    direct = app_endpoint(d, member_ip(d, primary))
    proxied = app_endpoint(d, service_ip(d, "mysql-rw"))
    return direct, proxied


def run(*, quick: bool = False) -> Report:
    report = Report("proxy")
    rounds, seconds = (1, 5) if quick else (2, 10)
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp, daemon(Path(tmp)) as d:
        d.start()
        apply_cluster(d, Path(tmp))
        wait_cluster(d)
        direct, proxied = endpoints(d)
        query(direct, "CREATE DATABASE IF NOT EXISTS sbtest")
        sysbench(direct, "oltp_read_write", "prepare", 2, 60)
        for test, threads in (("oltp_point_select", 4), ("oltp_read_write", 4)):
            runs = compare(direct, proxied, test, threads, rounds, seconds)
            report.details[test] = runs
            d_qps = median([r["qps"] for r in runs["direct"]])
            p_qps = median([r["qps"] for r in runs["proxied"]])
            report.add(
                Metric(
                    f"{test} {threads} thr QPS",
                    p_qps,
                    "q/s",
                    baseline=d_qps,
                    goal=">= 0.9x",
                    met=p_qps / d_qps >= 0.9,
                )
            )
            for p in ("p50_ms", "p95_ms", "p99_ms"):
                dv = median([r.get(p, 0.0) for r in runs["direct"]])
                pv = median([r.get(p, 0.0) for r in runs["proxied"]])
                report.add(Metric(f"{test} latency {p[:3]}", pv, "ms", baseline=dv))
    return report

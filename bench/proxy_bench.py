"""ClusterIP proxy benchmark: the same workload direct to a server and through a Service.

`--mode userspace` measures ServiceProxy (asyncio, bytes copied in Python);
`--mode kernel` measures KernelProxy (nftables DNAT on lo; root and nft needed).

Workloads (each a real server process on a random loopback address):
* redis: redis-server + redis-benchmark (C client and server, tiny GET/SET: the
  proxy's per-request overhead is the largest share of time here);
* mariadb: mariadbd + sysbench oltp_point_select and oltp_read_only (a
  database request/response workload, what petset's Services carry).
Runs are interleaved A-B-B-A (direct, proxy, proxy, direct) because two runs
against the same endpoint differ by several percent on this kind of machine.

    .venv/bin/python bench/proxy_bench.py [--workload redis|mariadb|all] [--seconds 5]
        [--mode userspace|kernel]
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import random
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from petset.api.settings import Settings
from petset.node.kernelproxy import KernelProxy, remove_table
from petset.node.proxy import ServiceProxy
from petset.runtime.memory import MemoryCluster

Run = Callable[[str, int], dict[str, float]]


def loopback() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


@contextmanager
def proxied(backend: tuple[str, int], event_loop: str, mode: str) -> Iterator[tuple[str, int]]:
    """A proxy (`mode`) with one ClusterIP Service whose only endpoint is `backend`."""
    service_ip = loopback()
    cluster = MemoryCluster()
    spec = {"clusterIP": service_ip, "ports": [{"name": "p", "port": 7000, "protocol": "TCP"}]}
    cluster.create({"kind": "Service", "metadata": {"name": "s", "namespace": "b"}, "spec": spec})
    subset = {
        "addresses": [{"ip": backend[0]}],
        "ports": [{"name": "p", "port": backend[1], "protocol": "TCP"}],
    }
    cluster.create(
        {"kind": "Endpoints", "metadata": {"name": "s", "namespace": "b"}, "subsets": [subset]}
    )
    logger = logging.getLogger("bench")
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        proxy: KernelProxy | ServiceProxy
        if mode == "kernel":
            proxy = KernelProxy(settings, cluster, logger=logger)
        else:
            loop = cast(Any, event_loop)
            proxy = ServiceProxy(settings, cluster, logger=logger, event_loop=loop)
        proxy.start()
        try:
            yield service_ip, 7000
        finally:
            proxy.stop()
            if mode == "kernel":
                remove_table(settings.home)


@contextmanager
def process(cmd: list[str], host: str, port: int) -> Iterator[None]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(host, port)
        yield
    finally:
        proc.terminate()
        proc.wait(30)


def redis_run(clients: int, requests: int) -> Run:
    def run(host: str, port: int) -> dict[str, float]:
        cmd = ["redis-benchmark", "-h", host, "-p", str(port), "-c", str(clients)]
        cmd += ["-n", str(requests), "-t", "get", "--csv"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        row = next(iter(csv.DictReader(io.StringIO(out))))
        return {"rps": float(row["rps"]), "p50_ms": float(row["p50_latency_ms"]), "n": requests}

    return run


@contextmanager
def redis_server() -> Iterator[tuple[str, int]]:
    host = loopback()
    port = free_port(host)
    cmd = ["redis-server", "--bind", host, "--port", str(port), "--save", ""]
    with process([*cmd, "--appendonly", "no"], host, port):
        yield host, port


@contextmanager
def mariadb_server() -> Iterator[tuple[str, int]]:
    host = loopback()
    port = free_port(host)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            ["mariadb-install-db", f"--datadir={data}", "--user=root", "--skip-test-db",
             "--auth-root-authentication-method=normal"],
            capture_output=True, check=True,
        )  # fmt: skip
        cmd = ["mariadbd", f"--datadir={data}", "--user=root", f"--bind-address={host}"]
        cmd += [f"--port={port}", f"--socket={tmp}/sock", "--skip-log-bin", "--max-connections=200"]
        with process(cmd, host, port):
            sql = "CREATE DATABASE sbtest; CREATE USER sb@'%' IDENTIFIED BY 'sb'; "
            sql += "GRANT ALL ON sbtest.* TO sb@'%';"
            subprocess.run(["mariadb", f"--socket={tmp}/sock", "-uroot", "-e", sql], check=True)
            sysbench("oltp_read_only", host, port, "prepare", 1, 0)
            yield host, port


def sysbench(test: str, host: str, port: int, verb: str, threads: int, seconds: int) -> str:
    cmd = ["sysbench", test, "--db-driver=mysql", f"--mysql-host={host}", f"--mysql-port={port}"]
    cmd += ["--mysql-user=sb", "--mysql-password=sb", "--tables=1", "--table-size=10000"]
    cmd += [f"--threads={threads}", f"--time={seconds}", "--percentile=50", verb]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def sysbench_run(test: str, threads: int, seconds: int) -> Run:
    def run(host: str, port: int) -> dict[str, float]:
        out = sysbench(test, host, port, "run", threads, seconds)
        tps = rps = p50 = n = 0.0
        for line in out.splitlines():
            words = line.split()
            if line.strip().startswith("transactions:"):
                tps = float(words[2].strip("("))
            elif line.strip().startswith("queries:"):
                n, rps = float(words[1]), float(words[2].strip("("))
            elif line.strip().startswith("50th percentile:"):
                p50 = float(words[-1])
        return {"rps": rps, "tps": tps, "p50_ms": p50, "n": n}

    return run


def compare(
    name: str, backend: tuple[str, int], run: Run, event_loop: str, mode: str, rounds: int = 1
) -> None:
    """A-B-B-A (`rounds` times): direct, proxy, proxy, direct; prints the means and
    the proxy/direct ratio."""
    results: dict[str, list[dict[str, float]]] = {"direct": [], "proxy": []}
    with proxied(backend, event_loop, mode) as front:
        for which in ("direct", "proxy", "proxy", "direct") * rounds:
            cpu = cpu_seconds()
            result = run(*(backend if which == "direct" else front))
            # This process only runs the proxy: its CPU time is the proxy's cost.
            result["cpu_us"] = (cpu_seconds() - cpu) / max(result["n"], 1) * 1e6
            results[which].append(result)
    mean = {w: {k: sum(r[k] for r in rs) / len(rs) for k in rs[0]} for w, rs in results.items()}
    d, p = mean["direct"], mean["proxy"]
    # The kernel proxy spends no CPU in this process: nothing to report there.
    cpu_text = f" | proxy CPU {p['cpu_us']:.0f} us/req" if mode == "userspace" else ""
    print(
        f"{name:38s} direct {d['rps']:9.0f} req/s p50 {d['p50_ms']:.3f} ms | "
        f"{mode} {p['rps']:9.0f} req/s p50 {p['p50_ms']:.3f} ms | ratio {p['rps'] / d['rps']:.2f}"
        f"{cpu_text}",
        flush=True,
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["redis", "mariadb", "all"], default="all")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--mode", choices=["userspace", "kernel"], default="userspace")
    parser.add_argument("--rounds", type=int, default=1, help="A-B-B-A sequences per test")
    args = parser.parse_args()
    if args.workload in ("redis", "all") and shutil.which("redis-server"):
        with redis_server() as backend:
            for clients in (1, 16):
                compare(
                    f"redis GET, {clients} client(s)",
                    backend,
                    redis_run(clients, 20000),
                    args.event_loop,
                    args.mode,
                    args.rounds,
                )
    if args.workload in ("mariadb", "all") and shutil.which("mariadbd"):
        with mariadb_server() as backend:
            for test, threads in (
                ("oltp_point_select", 1),
                ("oltp_point_select", 8),
                ("oltp_read_only", 4),
            ):
                run = sysbench_run(test, threads, args.seconds)
                name = f"mariadb {test}, {threads} thread(s)"
                compare(name, backend, run, args.event_loop, args.mode, args.rounds)


if __name__ == "__main__":
    main()

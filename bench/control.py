"""Benchmark 7: the control plane.

* Idle cost: the daemon's RSS and CPU over a quiet window with 3 MySQLClusters
  x 3 members running (goal <= 80 MB, <= 1 % of one core).
* Scale: 20 StatefulSets x 5 `python3 -m http.server` members (tcpSocket
  readiness), from apply to all 100 pods Ready (goal <= 60 s).
* API latency: GET list of all pods over the unix socket (httpx) while
  `petset get pods -w` watchers run, at rest with 100 pods (goal p99 <= 50 ms);
  also sampled during the 100-pod bring-up, for information.
There is no baseline process to divide by here: these goals are absolute.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from bench.harness import Daemon, Metric, Report, daemon, median, percentile, wait_for
from bench.mysqlkit import apply_cluster, wait_cluster

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_usage(pid: int, seconds: float) -> tuple[float, float, float]:
    """(max RSS MB, mean RSS MB, CPU % of one core) over `seconds` of quiet."""
    rss: list[float] = []
    c0, t0 = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - t0 < seconds:
        rss.append(rss_mb(pid))
        time.sleep(0.5)
    cpu = (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
    return max(rss), sum(rss) / len(rss), cpu


def web_manifest(sets: int, members: int) -> str:
    docs = []
    for i in range(sets):
        name = f"web{i}"
        labels = {"app": name}
        container = {
            "name": "http",
            "image": "python:3",
            "command": ["python3", "-m", "http.server", "8080", "--bind", "$(POD_IP)"],
            "args": ["--directory", "/tmp"],
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        }
        svc = {"clusterIP": "None", "selector": labels, "ports": [{"name": "http", "port": 8080}]}
        docs.append(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": svc}
        )
        sts_spec = {
            "serviceName": name,
            "replicas": members,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        }
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": name},
                "spec": sts_spec,
            }
        )
    return yaml.safe_dump_all(docs)


def ready_pods(d: Daemon) -> int:
    with d.http() as c:
        items = c.get("/v1/objects/Pod", params={"namespace": "default"}).json()["items"]
    return sum(
        1
        for p in items
        for cond in (p.get("status") or {}).get("conditions") or []
        if cond.get("type") == "Ready" and cond.get("status") == "True"
    )


def list_latencies(d: Daemon, n: int, stop: threading.Event | None = None) -> list[float]:
    out: list[float] = []
    with d.http() as c:
        for _ in range(n):
            if stop is not None and stop.is_set():
                break
            t = time.perf_counter()
            c.get("/v1/objects/Pod", params={"namespace": "default"}).raise_for_status()
            out.append((time.perf_counter() - t) * 1000)
            if stop is not None:
                time.sleep(0.05)
    return out


@contextlib.contextmanager
def watchers(d: Daemon, n: int) -> Iterator[None]:
    procs = [d.popen("get", "pods", "-w") for _ in range(n)]
    try:
        time.sleep(1)
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)


def idle_clusters(report: Report, quick: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp, daemon(Path(tmp)) as d:
        d.start()
        for name in ("db1", "db2", "db3"):
            apply_cluster(d, Path(tmp), name)
        for name in ("db1", "db2", "db3"):
            wait_cluster(d, name, timeout=300)
        time.sleep(5)  # let the last reconciles and probes settle
        pid = d.pid()
        assert pid is not None
        peak, mean, cpu = idle_usage(pid, 20 if quick else 60)
        report.add(
            Metric(
                "idle daemon RSS, 3x3 MySQL (max)",
                peak,
                "MB",
                goal="<= 80 MB",
                met=peak <= 80,
                note=f"mean {mean:.1f} MB",
            )
        )
        report.add(Metric("idle daemon CPU, 3x3 MySQL", cpu, "%", goal="<= 1 %", met=cpu <= 1))


def hundred_members(report: Report, quick: bool) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-100-") as tmp,
        daemon(Path(tmp), pod_prefix=25) as d,
    ):
        d.start()
        path = Path(tmp) / "web.yaml"
        path.write_text(web_manifest(20, 5))
        with watchers(d, 5):
            stop = threading.Event()
            during: list[float] = []
            sampler = threading.Thread(
                target=lambda: during.extend(list_latencies(d, 100000, stop)), daemon=True
            )
            d.petset("apply", "-f", str(path))
            sampler.start()
            try:
                secs = wait_for("100 pods Ready", lambda: ready_pods(d) >= 100, 300, 0.5)
            except TimeoutError:
                secs = None
                report.details["ready_at_timeout"] = ready_pods(d)
            stop.set()
            sampler.join(30)
            report.add(
                Metric(
                    "100 members: apply to all Ready",
                    secs,
                    "s",
                    goal="<= 60 s",
                    met=secs is not None and secs <= 60,
                )
            )
            time.sleep(2)
            rest = list_latencies(d, 100 if quick else 300)
        p50, p99 = percentile(rest, 50), percentile(rest, 99)
        report.add(Metric("API list 100 pods p50 (5 watchers)", p50, "ms"))
        report.add(
            Metric("API list 100 pods p99 (5 watchers)", p99, "ms", goal="<= 50 ms", met=p99 <= 50)
        )
        if during:
            note = f"p50 {median(during):.1f} ms, {len(during)} requests"
            p99_during = percentile(during, 99)
            report.add(
                Metric("API list p99 during the 100-pod bring-up", p99_during, "ms", note=note)
            )
        pid = d.pid()
        if pid is not None:
            report.add(Metric("daemon RSS with 100 pods", rss_mb(pid), "MB"))


def run(*, quick: bool = False) -> Report:
    report = Report("control")
    hundred_members(report, quick)
    idle_clusters(report, quick)
    return report

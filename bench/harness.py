"""What every benchmark shares: a private petset daemon, a result table, JSON output.

A `Daemon` is a petset home with random loopback ranges (other benchmarks and
test suites run on this machine at the same time) and a short CrashLoopBackOff,
the same environment the acceptance tests use. Leaving its context stops the
daemon and every sandbox it recorded, by pid, never by process name.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PETSET = REPO / ".venv" / "bin" / "petset"
MYSQL_EXAMPLE = REPO / "examples" / "mysql" / "cluster.yaml"


def petset_argv() -> list[str]:
    return [str(PETSET)] if PETSET.exists() else [sys.executable, "-m", "petset.cli"]


def free_port(host: str, prefer: int | None = None) -> int:
    """A port free for UDP and TCP on `host` (DNS needs both); `prefer` when it is."""
    candidates = [prefer] if prefer else []
    candidates += [random.randint(20000, 60000) for _ in range(50)]
    for port in candidates:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind((host, port))
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port on {host}")


def random_net() -> str:
    """A random "127.a.b" prefix (other suites on this machine pick their own)."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.1) -> float:
    """Poll `check` until true; returns the seconds it took, raises TimeoutError naming `what`."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:
            pass
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)


@dataclass
class Daemon:
    """One private petset daemon and its home; `petset(...)` runs the real CLI against it."""

    home: Path
    env: dict[str, str]
    net: str  # "127.a.b": pods get .0/26, services .128/26

    def petset(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        res = subprocess.run(
            [*petset_argv(), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            cwd=REPO,
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"petset {' '.join(args)}: {res.stdout}{res.stderr}")
        return res.stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*petset_argv(), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=REPO,
        )

    def json(self, *args: str) -> Any:
        return json.loads(self.petset(*args, "-o", "json"))

    def http(self) -> httpx.Client:
        """A client on the daemon's unix socket (what the CLI uses, without its start-up)."""
        transport = httpx.HTTPTransport(uds=str(self.home / "petset.sock"))
        return httpx.Client(transport=transport, base_url="http://petset", timeout=60)

    def get(self, kind: str, name: str, namespace: str = "default") -> Any:
        with self.http() as c:
            resp = c.get(f"/v1/objects/{kind}/{name}", params={"namespace": namespace})
            resp.raise_for_status()
            return resp.json()

    def pid(self) -> int | None:
        try:
            pid = int((self.home / "daemon.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    def start(self) -> None:
        self.petset("daemon", "start")
        wait_for("daemon answers", lambda: self.pid() is not None, 30)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.pid() is not None:
                self.petset("daemon", "stop", "--pods", timeout=90, check=False)
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, 15):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        stop_sandboxes(self.home)

    def daemon_log(self) -> Path:
        return self.home / "daemon.log"


def stop_sandboxes(home: Path) -> None:
    """Kill every sandbox the node recorded in `home` (pods outlive the daemon)."""
    from petset.node import sandbox

    for record_path in home.glob("pods/*/containers/*.json"):
        try:
            record = json.loads(record_path.read_text())
            inst = sandbox.Instance(**record["instance"]) if record.get("instance") else None
        except (OSError, ValueError, TypeError):
            continue
        if inst is not None:
            with contextlib.suppress(Exception):
                sandbox.kill_sandbox(inst)


@contextlib.contextmanager
def daemon(base: Path, *, pod_prefix: int = 26) -> Iterator[Daemon]:
    """A private daemon under `base` (started on first use); stopped with its pods on exit.

    `pod_prefix` sizes the pod range (26 gives 62 pod IPs; 25 gives 126).
    """
    home = base / "home"
    a, b = random.randint(100, 250), random.randint(0, 255)
    net = f"127.{a}.{b}"
    dns_ip = f"{net}.253" if pod_prefix < 26 else f"{net}.125"
    pods = f"{net}.0/{pod_prefix}"
    services = f"127.{a}.{(b + 1) % 256}.0/26" if pod_prefix < 26 else f"{net}.128/26"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETSET_")}
    env.update(
        {
            "PETSET_HOME": str(home),
            "PETSET_POD_CIDR": pods,
            "PETSET_SERVICE_CIDR": services,
            "PETSET_DNS_ADDRESS": dns_ip,
            "PETSET_DNS_PORT": str(free_port(dns_ip, prefer=53)),
            "PETSET_BACKOFF_BASE": "0.5",
            "PETSET_BACKOFF_MAX": "2",
            "PETSET_START_TIMEOUT": "30",
        }
    )
    d = Daemon(home, env, net)
    try:
        yield d
    finally:
        d.stop()


def mysql_app_password(d: Daemon, cluster: str = "mysql") -> str:
    secret = d.get("Secret", f"{cluster}-credentials")
    return base64.b64decode(secret["data"]["app-password"]).decode()


# -- results ---------------------------------------------------------------------------------


@dataclass
class Metric:
    name: str
    measured: float | None
    unit: str = ""
    baseline: float | None = None
    goal: str = ""  # e.g. "<= 1.5x", ">= 0.9x", "<= 2 s"
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.measured is None or not self.baseline:
            return None
        return self.measured / self.baseline


@dataclass
class Report:
    """One benchmark's figures: printed as a table and written to bench/results/<name>.json."""

    name: str
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, metric: Metric) -> Metric:
        self.metrics.append(metric)
        return metric

    def table(self) -> str:
        def fmt(v: float | None, unit: str = "") -> str:
            if v is None:
                return "-"
            text = f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
            return f"{text} {unit}".strip()

        rows = [("metric", "measured", "baseline", "ratio", "goal", "met")]
        for m in self.metrics:
            met = "-" if m.met is None else ("yes" if m.met else "NO")
            ratio = "-" if m.ratio is None else f"{m.ratio:.2f}x"
            rows.append(
                (m.name, fmt(m.measured, m.unit), fmt(m.baseline, m.unit), ratio, m.goal, met)
            )
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = [f"== {self.name}"]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines += [f"   note: {m.name}: {m.note}" for m in self.metrics if m.note]
        return "\n".join(lines)

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        body = {
            "name": self.name,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": {"cpus": os.cpu_count(), "load": os.getloadavg()},
            "metrics": [
                {
                    "metric": m.name,
                    "measured": m.measured,
                    "unit": m.unit,
                    "baseline": m.baseline,
                    "ratio": m.ratio,
                    "goal": m.goal,
                    "met": m.met,
                    "note": m.note,
                }
                for m in self.metrics
            ],
            "details": self.details,
        }
        path.write_text(json.dumps(body, indent=2, default=str) + "\n")
        return path


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values)

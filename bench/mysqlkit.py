"""MySQL pieces the benchmarks share: petset clusters and raw mariadbd baselines.

The raw side is what a person would script without petset: mariadb-install-db,
mariadbd on a loopback address, replication set up with CHANGE MASTER. It is
the baseline every MySQL figure is divided by, run on the same machine in the
same run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import yaml

from bench.harness import MYSQL_EXAMPLE, Daemon, free_port, mysql_app_password, wait_for, wait_gone


def cluster_manifest(name: str = "mysql", replicas: int = 3, **spec: Any) -> str:
    """The flagship example, renamed and resized (what users start from)."""
    doc = yaml.safe_load(MYSQL_EXAMPLE.read_text())
    doc["metadata"]["name"] = name
    doc["spec"]["replicas"] = replicas
    doc["spec"].update(spec)
    return yaml.safe_dump(doc)


def cluster_status(d: Daemon, name: str = "mysql") -> dict[str, Any]:
    st: dict[str, Any] = d.get("MySQLCluster", name).get("status") or {}
    return st


def all_healthy(d: Daemon, name: str = "mysql", replicas: int = 3) -> bool:
    st = cluster_status(d, name)
    members = st.get("members") or []
    return (
        bool(st.get("primary"))
        and len(members) == replicas
        and all(m.get("healthy") for m in members)
    )


def apply_cluster(d: Daemon, base: Path, name: str = "mysql", replicas: int = 3) -> None:
    path = base / f"{name}.yaml"
    path.write_text(cluster_manifest(name, replicas))
    d.petset("apply", "-f", str(path))


def wait_cluster(d: Daemon, name: str = "mysql", replicas: int = 3, timeout: float = 240) -> float:
    return wait_for(
        f"MySQLCluster {name}: {replicas} healthy members, Ready",
        # Ready: the primary's pod is Ready too, so the rw Service routes to it
        lambda: all_healthy(d, name, replicas) and cluster_status(d, name).get("phase") == "Ready",
        timeout,
        every=0.1,
    )


def service_ip(d: Daemon, service: str) -> str:
    return str(d.get("Service", service)["spec"]["clusterIP"])


def member_ip(d: Daemon, member: str) -> str:
    return str(d.get("Pod", member)["status"]["podIP"])


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    password: str

    def connect(self, timeout: float = 2.0, database: str | None = None) -> Any:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            connect_timeout=max(1, int(timeout)),
            read_timeout=max(1, int(timeout)),
            write_timeout=max(1, int(timeout)),
            autocommit=True,
        )


def app_endpoint(d: Daemon, host: str, name: str = "mysql") -> Endpoint:
    return Endpoint(host, 3306, "app", mysql_app_password(d, name))


def admin_endpoint(d: Daemon, host: str, name: str = "mysql") -> Endpoint:
    import base64

    secret = d.get("Secret", f"{name}-credentials")
    password = base64.b64decode(secret["data"]["admin-password"]).decode()
    return Endpoint(host, 3306, "petset_admin", password)


def query(ep: Endpoint, sql: str, timeout: float = 2.0) -> list[tuple[Any, ...]]:
    conn = ep.connect(timeout)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


# -- pids of members -----------------------------------------------------------------------


def container_pids(d: Daemon, member: str, container: str) -> list[int]:
    """Host pids of the processes in `member`'s `container` sandbox, its pid 1 first."""
    import json

    for rec in d.home.glob(f"pods/default_{member}_*/containers/{container}.json"):
        try:
            inst = json.loads(rec.read_text()).get("instance")
        except (OSError, ValueError):
            continue
        if not inst:
            continue
        root = int(inst["child_pid"])
        return [root, *_descendants(root)]
    return []


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for c in children:
        out.append(int(c))
        out.extend(_descendants(int(c)))
    return out


def mariadbd_pid(d: Daemon, member: str) -> int | None:
    """The host pid of `member`'s mariadbd (not the sandbox's init)."""
    for pid in container_pids(d, member, "mariadbd"):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "mariadbd":
            return pid
    return None


# -- raw mariadbd, the baseline ----------------------------------------------------------------


@dataclass
class RawServer:
    datadir: Path
    host: str
    port: int
    server_id: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> str:
        return str(self.datadir.parent / f"{self.datadir.name}.sock")

    def sql(self, statement: str, *, names: bool = False) -> str:
        argv = ["mariadb", f"--socket={self.socket}", "-uroot", "-B", "-e", statement]
        argv += [] if names else ["-N"]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)


def install_db(datadir: Path) -> subprocess.Popen[bytes]:
    argv = ["mariadb-install-db", f"--datadir={datadir}", "--user=root", "--skip-test-db"]
    argv += ["--auth-root-authentication-method=normal"]
    # Its own tmpdir: a mariadbd starting removes every #sql temporary file in
    # its tmpdir (Debian's default: /tmp), including those of installs running
    # beside it, which then abort ("Unknown table 'mysql.tmp_user_sys'").
    tmpdir = datadir.parent / f"{datadir.name}.tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    argv += [f"--tmpdir={tmpdir}"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_raw(server: RawServer, *extra: str) -> None:
    argv = ["mariadbd", "--no-defaults", f"--datadir={server.datadir}", "--user=root"]
    argv += [f"--bind-address={server.host}", f"--port={server.port}"]
    argv += [f"--socket={server.socket}", f"--server-id={server.server_id}", "--log-bin=binlog"]
    # Semi-sync master is switched on once replicas are attached: before, every
    # commit would wait rpl_semi_sync_master_timeout for an acknowledgement.
    argv += ["--log-slave-updates", "--rpl-semi-sync-slave-enabled=ON"]
    argv += ["--rpl-semi-sync-master-wait-point=AFTER_SYNC"]
    argv += [f"--pid-file={server.datadir.parent / server.datadir.name}.pid", *extra]
    log = open(server.datadir.parent / f"{server.datadir.name}.err", "ab")  # noqa: SIM115
    server.proc = subprocess.Popen(argv, stdout=log, stderr=log)


def wait_raw(server: RawServer, timeout: float = 30) -> None:
    wait_for(f"mariadbd on {server.host}", lambda: bool(server.sql("SELECT 1")), timeout, 0.02)


@contextlib.contextmanager
def raw_cluster(base: Path, net: str, members: int = 3) -> Iterator[list[RawServer]]:
    """A scripted 3-member GTID cluster (the bring-up baseline); yields once replicating."""
    servers = [RawServer(base / f"raw{i}", f"{net}.{200 + i}", 0, i + 1) for i in range(members)]
    for s in servers:
        s.port = free_port(s.host)
    try:
        installs = [install_db(s.datadir) for s in servers]
        for p in installs:
            if p.wait() != 0:
                raise RuntimeError("mariadb-install-db failed")
        for s in servers:
            start_raw(s, *(["--read-only=ON"] if s.server_id > 1 else []))
        for s in servers:
            wait_raw(s)
        primary = servers[0]
        primary.sql(
            "CREATE USER repl@'%' IDENTIFIED BY 'repl'; GRANT REPLICATION SLAVE ON *.* TO repl@'%';"
        )
        for s in servers[1:]:
            s.sql(
                f"CHANGE MASTER TO MASTER_HOST='{primary.host}', MASTER_PORT={primary.port}, "
                "MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos; "
                "START SLAVE;"
            )
        for s in servers[1:]:
            wait_for("replica running", lambda s=s: _replicating(s), 30, 0.02)  # type: ignore[misc]
        primary.sql("SET GLOBAL rpl_semi_sync_master_enabled=ON")
        yield servers
    finally:
        for s in servers:
            s.stop()
        for s in servers:
            shutil.rmtree(s.datadir, ignore_errors=True)


def _replicating(s: RawServer) -> bool:
    out = s.sql("SHOW SLAVE STATUS\\G", names=True)
    return "Slave_IO_Running: Yes" in out and "Slave_SQL_Running: Yes" in out


def kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_pid_gone(pid: int, timeout: float = 10) -> None:
    wait_gone(pid, timeout)


def now() -> float:
    return time.monotonic()

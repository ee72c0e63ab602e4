"""What runs inside a MySQL member pod: `python -m petset.engines.mysql.member VERB`.

* `config`    (init container): writes my.cnf from the cluster's ConfigMap and the
               member's identity (ordinal -> server_id, POD_IP -> bind_address).
* `init-data` (init container): keeps existing data; otherwise clones from a
               healthy peer (a replica when there is one) found through the
               headless Service's DNS name; in a new cluster with no donor yet,
               every member installs a fresh datadir at once (see `init_plan`).
* `agent`     (sidecar, agent.py): HTTP on $POD_IP:$AGENT_PORT with /healthz,
               /status and /clone (a mariadb-backup xbstream of this member's data).

The same commands run in a local sandbox and in a container image on
Kubernetes; everything they need comes from environment variables the
StatefulSet template sets (see render.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Literal

from petset.engines.mysql.backup import restore as backup_restore
from petset.engines.mysql.config import MemberConfig, render_mycnf
from petset.engines.mysql.gtid import GtidPosition
from petset.engines.mysql.memberenv import AGENT_PORT as AGENT_PORT
from petset.engines.mysql.memberenv import Env, log

USERS_FILE = ".petset-users.sql"
APP_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, "
    "LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, "
    "TRIGGER, REFERENCES"
)


# -- config ---------------------------------------------------------------------
def cmd_config(env: Env) -> int:
    spec = json.loads(env.cluster_json.read_text())
    member = MemberConfig(
        ordinal=env.ordinal,
        bind_address=env.pod_ip,
        report_host=env.fqdn,
        datadir=str(env.datadir),
        socket=env.socket,
        semi_sync=bool(spec.get("semiSync", True)),
        semi_sync_timeout_ms=int(spec.get("semiSyncTimeoutMs", 3000)),
        run_as_root=os.geteuid() == 0,
    )
    env.confdir.mkdir(parents=True, exist_ok=True)
    target = env.confdir / "my.cnf"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(render_mycnf(member, spec.get("config") or {}))
    tmp.replace(target)
    Path(env.socket).parent.mkdir(parents=True, exist_ok=True)
    log(f"wrote {target} (server_id from ordinal {env.ordinal})")
    return 0


# -- init-data ------------------------------------------------------------------
def has_data(datadir: Path) -> bool:
    return (datadir / "mysql").is_dir()


def peers(env: Env) -> list[str]:
    """IPs of the other members, from the headless Service (which publishes
    not-ready members too, so peers are found while they start)."""
    name = f"{env.service}.{env.namespace}.svc.{env.cluster_domain}"
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({str(i[4][0]) for i in infos} - {env.pod_ip})


def peer_status(ip: str, port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}/status", timeout=2) as resp:
            data = json.loads(resp.read())
            return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def choose_donor(statuses: dict[str, dict[str, object]]) -> str | None:
    """A healthy replica first (never load the primary when a replica can donate)."""
    healthy = {ip: s for ip, s in statuses.items() if s.get("healthy")}
    for role in ("replica", "primary"):
        for ip in sorted(healthy):
            if healthy[ip].get("role") == role:
                return ip
    return None


def bootstrap(env: Env) -> None:
    """A fresh datadir with petset's users, created without binlogging anything.

    One `mariadbd --bootstrap` run: mariadb-install-db's system tables, then
    petset's users from its --extra-file (a second bootstrap run just for the
    users would start and stop InnoDB once more)."""
    tmp = env.datadir / ".petset-bootstrap"  # inside: the datadir is a mount point
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    users_sql = env.datadir / USERS_FILE
    fd = os.open(users_sql, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # passwords
    with os.fdopen(fd, "w") as f:
        f.write(users_statements(env))
    user = ["--user=root"] if os.geteuid() == 0 else []
    try:
        proc = subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--auth-root-authentication-method=normal",
             "--skip-test-db", f"--datadir={tmp}", f"--extra-file={users_sql}",
             "--innodb-log-file-size=32M", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    finally:
        users_sql.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {proc.stderr.decode()[-2000:]}")
    _move_into(tmp, env.datadir)


def users_statements(env: Env) -> str:
    q = sql_quote
    users = (
        "FLUSH PRIVILEGES;\n"
        f"CREATE USER 'petset_admin'@'%' IDENTIFIED BY '{q(env.admin.password)}';\n"
        "GRANT ALL PRIVILEGES ON *.* TO 'petset_admin'@'%' WITH GRANT OPTION;\n"
        f"CREATE USER 'petset_repl'@'%' IDENTIFIED BY '{q(env.repl.password)}';\n"
        "GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR, SLAVE MONITOR "
        "ON *.* TO 'petset_repl'@'%';\n"
    )
    if env.app_password:
        # The application's user has no READ_ONLY ADMIN: read_only fences it on
        # replicas and on a demoted primary (NOTES.md).
        users += (
            f"CREATE USER 'app'@'%' IDENTIFIED BY '{q(env.app_password)}';\n"
            f"GRANT {APP_PRIVILEGES} ON *.* TO 'app'@'%';\n"
        )
    return users


def sql_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _move_into(src: Path, datadir: Path) -> None:
    """Move a finished datadir into place entry by entry (datadir may be a mount point)."""
    datadir.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        entry.rename(datadir / entry.name)
    src.rmdir()
    for leftover in (".petset-bootstrap", ".petset-clone"):
        shutil.rmtree(datadir / leftover, ignore_errors=True)


CLONE_READ_TIMEOUT = 30  # seconds without a byte from the donor: the clone fails


def open_clone_stream(donor_ip: str, port: int) -> socket.socket:
    """GET /clone from the donor's agent; returns the connected socket with the
    response headers consumed, positioned at the first byte of the stream.

    mbstream then reads the socket itself: no copy through this process (the
    stream runs donor mariadb-backup -> TCP -> mbstream, as a shell pipe would).
    """
    sock = socket.create_connection((donor_ip, port), timeout=CLONE_READ_TIMEOUT)
    try:
        sock.sendall(f"GET /clone HTTP/1.0\r\nHost: {donor_ip}\r\n\r\n".encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # byte by byte: the body stays unread
            byte = sock.recv(1)
            if not byte or len(head) > 16384:
                raise RuntimeError(f"donor {donor_ip} closed before sending a stream")
            head += byte
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if status.split()[1:2] != ["200"]:
            raise RuntimeError(f"donor {donor_ip} refused the clone: {status}")
        # Blocking again (a Python timeout makes the fd non-blocking, which
        # mbstream cannot read), with the kernel's receive timeout instead.
        sock.settimeout(None)
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", CLONE_READ_TIMEOUT, 0)
        )
    except BaseException:
        sock.close()
        raise
    return sock


def tree_size(root: Path) -> int:
    """Bytes in the files under `root` (what `du -sb` counts, less directories)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def clone(env: Env, donor_ip: str) -> str:
    """Stream a backup from the donor's agent, prepare it, record its GTID position."""
    tmp = env.datadir / ".petset-clone"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.monotonic()
    with open_clone_stream(donor_ip, env.agent_port) as sock:
        code = subprocess.run(["mbstream", "-x", "-C", str(tmp)], stdin=sock.fileno()).returncode
    if code != 0:
        raise RuntimeError(f"mbstream failed with exit code {code} (donor {donor_ip})")
    total = tree_size(tmp)
    streamed = time.monotonic()
    subprocess.run(
        ["mariadb-backup", "--prepare", f"--target-dir={tmp}"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    prepared = time.monotonic()
    gtid = backup_gtid(tmp)
    seed_replica_position(tmp, gtid)
    done = time.monotonic()
    log(
        f"cloned {total / 1e6:.1f} MB from {donor_ip} in {done - started:.2f}s "
        f"(stream {streamed - started:.2f}s, prepare {prepared - streamed:.2f}s, "
        f"position {done - prepared:.2f}s; gtid {gtid or 'empty'})"
    )
    _move_into(tmp, env.datadir)
    return gtid


def seed_replica_position(datadir: Path, gtid: str) -> None:
    """Record the backup's GTID as this member's replication position.

    gtid_slave_pos is loaded from mysql.gtid_slave_pos at start, so writing the
    table in bootstrap mode (no network, nothing binlogged) makes the member
    resume replication exactly after the backup; `SET GLOBAL` is not available
    in bootstrap mode.
    """
    rows = [
        f"({g.domain}, {i + 1}, {g.server}, {g.seq})"
        for i, g in enumerate(GtidPosition.parse(gtid).gtids)
    ]
    if not rows:
        return
    # A replica donor's own rows are in the backup too: the backup's position wins.
    stmt = (
        "DELETE FROM mysql.gtid_slave_pos;\n"
        "INSERT INTO mysql.gtid_slave_pos (domain_id, sub_id, server_id, seq_no) VALUES "
        + ", ".join(rows)
        + ";\n"
    )
    run_bootstrap(datadir, stmt)


def run_bootstrap(datadir: Path, statements: str) -> None:
    """Run SQL with mariadbd --bootstrap (no network, no binlog); its chatter is
    kept out of the log unless it fails."""
    user = ["--user=root"] if os.geteuid() == 0 else []
    proc = subprocess.run(
        ["mariadbd", "--no-defaults", "--bootstrap", f"--datadir={datadir}",
         "--innodb-log-file-size=32M", "--log-warnings=0", *user],
        input=statements.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"mariadbd --bootstrap failed: {proc.stderr.decode()[-2000:]}")


def backup_gtid(target: Path) -> str:
    """The GTID position a prepared backup holds (10.11 and newer file names)."""
    for name in ("mariadb_backup_binlog_info", "xtrabackup_binlog_info"):
        f = target / name
        if f.exists():
            parts = f.read_text().split()
            return parts[2] if len(parts) >= 3 else ""
    return ""


def restore(env: Env, request: backup_restore.RestoreRequest) -> str:
    """The first member of a new cluster from a backup (and archived binlogs)."""
    tmp = env.datadir / ".petset-restore"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.monotonic()
    what = request.backup or f"the newest backup of {request.cluster}"
    target = request.timestamp or request.gtid
    log(f"restoring {what}" + (f" up to {target}" if target else ""))
    users = backup_restore.users_statements(
        env.admin.password, env.repl.password, env.app_password, APP_PRIVILEGES
    )
    gtid = backup_restore.restore_into(tmp, request, mycnf=env.confdir / "my.cnf", users_sql=users)
    _move_into(tmp, env.datadir)
    log(f"restored {what} in {time.monotonic() - started:.1f}s (gtid {gtid or 'empty'})")
    return gtid


ASIDE_PREFIX = ".petset-aside-"


def cmd_set_aside(env: Env) -> int:
    """Move this member's data aside so that init-data re-clones it; the old
    data stays in the volume until a clone succeeded (then it is removed)."""
    if not has_data(env.datadir):
        log(f"{env.datadir} has no data to set aside")
        return 0
    aside = env.datadir / f"{ASIDE_PREFIX}{int(time.time())}"
    aside.mkdir()
    for entry in env.datadir.iterdir():
        if not entry.name.startswith(ASIDE_PREFIX):
            entry.rename(aside / entry.name)
    log(f"data set aside in {aside}: the next start re-clones this member")
    return 0


def drop_aside(datadir: Path) -> None:
    for old in datadir.glob(ASIDE_PREFIX + "*"):
        shutil.rmtree(old, ignore_errors=True)
        log(f"removed {old.name}: the clone replaced it")


InitPlan = Literal["clone", "restore", "bootstrap", "wait"]


def init_plan(
    *, ordinal: int, initialized: bool, donor: bool, restore: bool, set_aside: bool
) -> InitPlan:
    """What init-data does with an empty data directory.

    In a cluster that was never initialized, every member installs a fresh
    datadir itself, all at once and without looking for peers (as a script
    would): the first primary's binlog holds every transaction since the
    cluster began, so an empty replica catches up by GTID from it. Otherwise a
    healthy donor is cloned. A restore is ordinal 0's alone and the other
    members clone from it; data set aside asks for a clone, never for an empty
    start.
    """
    if not initialized and not restore and not set_aside:
        return "bootstrap"
    if donor:
        return "clone"
    if restore and ordinal == 0 and not initialized and not set_aside:
        return "restore"
    return "wait"


def cmd_init_data(env: Env, *, poll: float = 0.5) -> int:
    if has_data(env.datadir):
        log(f"{env.datadir} has data: keeping it")
        if os.environ.get("RESTORE_STORE"):
            log("spec.bootstrap is ignored: a restore never overwrites existing data")
        return 0
    request = backup_restore.RestoreRequest.from_environ(os.environ)
    set_aside = any(env.datadir.glob(ASIDE_PREFIX + "*"))
    waited = False
    while True:
        plan = init_plan(
            ordinal=env.ordinal, initialized=env.initialized, donor=False,
            restore=request is not None, set_aside=set_aside,
        )  # fmt: skip
        donor = None
        if plan != "bootstrap":  # only then do peers matter (DNS + HTTP to each)
            statuses = {ip: s for ip in peers(env) if (s := peer_status(ip, env.agent_port))}
            donor = choose_donor(statuses)
            plan = init_plan(
                ordinal=env.ordinal, initialized=env.initialized, donor=donor is not None,
                restore=request is not None, set_aside=set_aside,
            )  # fmt: skip
        if plan == "clone" and donor is not None:
            clone(env, donor)
            drop_aside(env.datadir)
            return 0
        if plan == "restore" and request is not None:
            restore(env, request)
            return 0
        if plan == "bootstrap":
            what = "the first primary" if env.ordinal == 0 else "a replica of the first primary"
            log(f"the cluster is new: bootstrapping {what}")
            started = time.monotonic()
            bootstrap(env)
            log(f"bootstrapped in {time.monotonic() - started:.1f}s")
            return 0
        if not waited:
            log("empty data directory and no healthy donor yet: waiting for one")
            waited = True
        time.sleep(poll)


def _agent(env: Env) -> int:
    # imported here: the init containers never need the HTTP server
    from petset.engines.mysql.agent import cmd_agent

    return cmd_agent(env)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    verbs = {
        "config": cmd_config,
        "init-data": cmd_init_data,
        "agent": _agent,
        "set-aside": cmd_set_aside,
    }
    if len(args) != 1 or args[0] not in verbs:
        print(
            f"usage: python -m petset.engines.mysql.member {{{'|'.join(verbs)}}}", file=sys.stderr
        )
        return 2
    return verbs[args[0]](Env.from_environ())


if __name__ == "__main__":
    sys.exit(main())

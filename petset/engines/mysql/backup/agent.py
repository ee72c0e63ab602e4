"""The member agent's backup routes (served by member.py's agent).

`GET /backup?id=ID` streams `mariadb-backup --backup --stream=xbstream` of this
member, keeping mariadb-backup's own description of it (`xtrabackup_info`:
binlog file, position and GTID at the consistent point) aside under ID;
`GET /backup-info?id=ID` returns that description once the stream ended.
The description cannot travel inside the HTTP stream itself (no trailers in
urllib), and reading it out of the xbstream would mean parsing that format.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

INFO_ROOT = Path("/tmp/petset-backups")  # /tmp is private to the pod
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,127}$")
_BINLOG_POS = re.compile(
    r"filename '(?P<file>[^']*)', position '(?P<pos>\d+)'(?:, GTID of the last change "
    r"'(?P<gtid>[^']*)')?"
)


def valid_id(backup_id: str) -> bool:
    return bool(_ID.match(backup_id))


def backup_args(*, host: str, user: str, password: str, replica: bool, lsndir: Path) -> list[str]:
    args = [
        "mariadb-backup",
        "--backup",
        "--stream=xbstream",
        "--target-dir=/tmp",
        f"--extra-lsndir={lsndir}",
        f"--host={host}",
        f"--user={user}",
        f"--password={password}",
    ]
    if replica:
        # a consistent point with the SQL thread stopped; its position is recorded
        args += ["--slave-info", "--safe-slave-backup"]
    return args


def stream_backup(
    write: Callable[[bytes], object],
    *,
    host: str,
    user: str,
    password: str,
    replica: bool,
    backup_id: str,
) -> int:
    """Run mariadb-backup, hand its stream to `write`; returns its exit code."""
    lsndir = INFO_ROOT / backup_id
    shutil.rmtree(lsndir, ignore_errors=True)
    lsndir.mkdir(parents=True)
    args = backup_args(host=host, user=user, password=password, replica=replica, lsndir=lsndir)
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        assert p.stdout is not None and p.stderr is not None
        while chunk := p.stdout.read(1 << 20):
            write(chunk)
        err = p.stderr.read()
    (lsndir / "exit").write_text(f"{p.returncode}\n{err.decode(errors='replace')[-2000:]}")
    return p.returncode


def parse_info(text: str) -> dict[str, Any]:
    """The fields petset records from mariadb-backup's xtrabackup_info."""
    kv = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            kv[key.strip()] = value.strip()
    out: dict[str, Any] = {
        "serverVersion": kv.get("server_version", ""),
        "startTime": kv.get("start_time", ""),
        "endTime": kv.get("end_time", ""),
        "toLsn": kv.get("innodb_to_lsn", ""),
    }
    m = _BINLOG_POS.search(kv.get("binlog_pos", ""))
    if m:
        out["binlogFile"] = m["file"]
        out["binlogPosition"] = int(m["pos"])
        out["gtid"] = m["gtid"] or ""
    return out


def backup_info(backup_id: str) -> dict[str, Any] | None:
    """None while the backup runs or when the id is unknown."""
    lsndir = INFO_ROOT / backup_id
    exit_file = lsndir / "exit"
    if not exit_file.exists():
        return None
    code, _, err = exit_file.read_text().partition("\n")
    out: dict[str, Any] = {"exitCode": int(code)}
    if int(code) != 0:
        out["error"] = err.strip().splitlines()[-1] if err.strip() else "mariadb-backup failed"
    info = lsndir / "xtrabackup_info"
    if info.exists():
        out.update(parse_info(info.read_text()))
    return out

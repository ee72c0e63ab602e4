"""Regenerate petset/api/data/mariadb-system-variables.json from a real server.

The api layer validates spec.config without a server (it does no I/O), so it
checks against this snapshot of information_schema.SYSTEM_VARIABLES; the
controller double-checks against the live members. Run it after the server
version changes:

    .venv/bin/python scripts/mariadb_system_variables.py

It starts a throw-away mariadbd on a private socket (no network) in a
temporary directory and stops it by its pid.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

OUT = Path(__file__).resolve().parents[1] / "petset/api/data/mariadb-system-variables.json"
QUERY = (
    "SELECT VARIABLE_NAME, VARIABLE_TYPE, NUMERIC_MIN_VALUE, NUMERIC_MAX_VALUE, "
    "ENUM_VALUE_LIST, READ_ONLY FROM information_schema.SYSTEM_VARIABLES ORDER BY VARIABLE_NAME"
)


def _number(text: str | None) -> int | float | None:
    if text is None:
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def snapshot(sock: str) -> dict[str, object]:
    conn = pymysql.connect(unix_socket=sock, user="root")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT @@version")
        version = str(cur.fetchone()[0])  # type: ignore[index]
        cur.execute(QUERY)
        rows = cur.fetchall()
    variables: dict[str, dict[str, object]] = {}
    for name, vtype, lo, hi, enum, read_only in rows:
        entry: dict[str, object] = {"type": vtype, "dynamic": read_only != "YES"}
        if lo is not None:
            entry["min"], entry["max"] = _number(lo), _number(hi)
        if enum:
            entry["values"] = enum.split(",")
        variables[name.lower()] = entry
    return {"server": version, "variables": variables}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        datadir, sock = Path(tmp) / "data", str(Path(tmp) / "mysqld.sock")
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--skip-test-db", f"--datadir={datadir}",
             "--auth-root-authentication-method=socket", *user],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
             "--skip-networking", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(100):
                if Path(sock).exists():
                    break
                time.sleep(0.1)
            data = snapshot(sock)
        finally:
            proc.terminate()
            proc.wait(30)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"{OUT}: {len(data['variables'])} variables of MariaDB {data['server']}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()

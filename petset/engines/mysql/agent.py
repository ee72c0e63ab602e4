"""The member's sidecar: HTTP on $POD_IP:$AGENT_PORT.

* /healthz, /status: the member's role and GTID position as SQL shows them (the
  readiness probe and init-data's choice of a clone donor);
* /clone: a mariadb-backup xbstream of this member's data, written by
  mariadb-backup straight into the connection;
* /backup, /backup-info: backups into the store (backup/agent.py).

Run as `python -m petset.engines.mysql.member agent`.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from petset.engines.mysql import sql
from petset.engines.mysql.backup import agent as backup_agent
from petset.engines.mysql.memberenv import Env, log


def member_status(env: Env) -> dict[str, object]:
    try:
        st = sql.observe(env.pod_ip, env.admin)
    except sql.MemberUnreachable as exc:
        return {"healthy": False, "error": str(exc)}
    role = "replica" if st.replica is not None or st.read_only else "primary"
    return {
        "healthy": True,
        "role": role,
        "readOnly": st.read_only,
        "gtid": str(st.position),
        "serverId": st.server_id,
    }


def make_handler(env: Env) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            if not self.path.startswith(("/healthz", "/status")):
                log(fmt % args)

        def _json(self, code: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                st = member_status(env)
                self._json(200 if st.get("healthy") else 503, st)
            elif self.path == "/status":
                self._json(200, member_status(env))
            elif self.path == "/clone":
                self._clone()
            elif self.path.startswith(("/backup?", "/backup-info?")):
                self._backup()
            else:
                self._json(404, {"error": f"no such path {self.path}"})

        def _backup(self) -> None:
            """/backup?id=ID streams a backup; /backup-info?id=ID describes it after."""
            route, _, query = self.path.partition("?")
            backup_id = (urllib.parse.parse_qs(query).get("id") or [""])[0]
            if not backup_agent.valid_id(backup_id):
                self._json(400, {"error": f"bad backup id {backup_id!r}"})
                return
            if route == "/backup-info":
                info = backup_agent.backup_info(backup_id)
                self._json(200 if info else 404, info or {"error": "no finished backup"})
                return
            st = member_status(env)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("X-Petset-Role", str(st.get("role", "")))
            self.end_headers()
            code = backup_agent.stream_backup(
                self.wfile.write, host=env.pod_ip, user=env.admin.user,
                password=env.admin.password, replica=st.get("role") == "replica",
                backup_id=backup_id,
            )  # fmt: skip
            log(f"backup {backup_id} stream finished (mariadb-backup exit {code})")

        def _clone(self) -> None:
            st = member_status(env)
            args = [
                "mariadb-backup", "--backup", "--stream=xbstream", "--target-dir=/tmp",
                f"--host={env.pod_ip}", f"--user={env.admin.user}",
                f"--password={env.admin.password}",
            ]  # fmt: skip
            if st.get("role") == "replica":
                args += ["--slave-info", "--safe-slave-backup"]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.flush()
            # mariadb-backup writes into the connection itself (no copy through
            # Python); the response ends when it exits and the connection closes.
            code = subprocess.run(args, stdout=self.connection.fileno(), stderr=subprocess.DEVNULL)
            if code.returncode != 0:
                # A reset, not an orderly close: the receiver must not take a
                # truncated stream for a whole one.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.rfile.close()  # its reference would defer the close
                self.connection.close()
            log(f"clone stream finished (mariadb-backup exit {code.returncode})")

    return Handler


def cmd_agent(env: Env) -> int:
    server = ThreadingHTTPServer((env.pod_ip, env.agent_port), make_handler(env))
    log(f"agent listening on {env.pod_ip}:{env.agent_port}")
    server.serve_forever()
    return 0

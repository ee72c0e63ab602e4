"""Running one probe (exec, tcpSocket, httpGet) against a container; True = success.

The result-keeping rules (thresholds) are in decisions.py; this module only
asks the container once, within timeoutSeconds.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from collections.abc import Callable

from petset.api.meta import Obj

# Runs a command inside the container: (argv, timeout) -> exit code.
ExecFn = Callable[[list[str], float], int]


def resolve_port(port: object, container: Obj) -> int:
    """A probe port by number or by the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for p in container.get("ports") or []:
        if p.get("name") == text:
            return int(p["containerPort"])
    raise ValueError(f"port {text!r} is not a named port of container {container.get('name')!r}")


def run_probe(probe: Obj, container: Obj, *, pod_ip: str, timeout: float, exec_fn: ExecFn) -> bool:
    try:
        if "exec" in probe:
            command = [str(c) for c in probe["exec"].get("command") or []]
            return exec_fn(command, timeout) == 0
        if "tcpSocket" in probe:
            tcp = probe["tcpSocket"]
            host = str(tcp.get("host") or pod_ip)
            with socket.create_connection(
                (host, resolve_port(tcp.get("port"), container)), timeout=timeout
            ):
                return True
        if "httpGet" in probe:
            return _http_get(probe["httpGet"], container, pod_ip, timeout)
    except (OSError, ValueError, subprocess.SubprocessError, http.client.HTTPException):
        return False
    return False


def _http_get(get: Obj, container: Obj, pod_ip: str, timeout: float) -> bool:
    host = str(get.get("host") or pod_ip)
    port = resolve_port(get.get("port"), container)
    conn: http.client.HTTPConnection
    if str(get.get("scheme") or "HTTP").upper() == "HTTPS":
        # As the kubelet: HTTPS probes do not verify the certificate.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"User-Agent": "petset-probe/1.0", "Accept": "*/*"}
        for h in get.get("httpHeaders") or []:
            headers[str(h["name"])] = str(h.get("value", ""))
        path = str(get.get("path") or "/")
        conn.request("GET", path if path.startswith("/") else "/" + path, headers=headers)
        status = conn.getresponse().status
    finally:
        conn.close()
    # Kubernetes: 200 <= code < 400 is success (redirects are not followed off-host).
    return 200 <= status < 400

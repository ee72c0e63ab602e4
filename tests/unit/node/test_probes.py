"""One probe against real loopback listeners (tcpSocket, httpGet) and a fake exec."""

from __future__ import annotations

import http.server
import random
import socket
import threading
from collections.abc import Iterator

import pytest

from petset.node.probes import resolve_port, run_probe

from .httpserve import serve_http


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/ok" and self.headers.get("X-Probe") == "yes" else 500
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    with serve_http(Handler) as address:
        yield address


CONTAINER = {"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}


def test_resolve_port() -> None:
    assert resolve_port(80, CONTAINER) == 80
    assert resolve_port("81", CONTAINER) == 81
    assert resolve_port("http", CONTAINER) == 8080
    with pytest.raises(ValueError):
        resolve_port("nope", CONTAINER)


def test_tcp_and_http_probes(server: tuple[str, int]) -> None:
    host, port = server

    def no_exec(argv: list[str], timeout: float) -> int:
        raise AssertionError("not an exec probe")

    ok = {
        "httpGet": {
            "path": "/ok",
            "port": port,
            "httpHeaders": [{"name": "X-Probe", "value": "yes"}],
        }
    }
    bad = {"httpGet": {"path": "/ok", "port": port}}
    tcp = {"tcpSocket": {"port": port}}
    closed = {"tcpSocket": {"port": 1}}
    assert run_probe(ok, CONTAINER, pod_ip=host, timeout=1, exec_fn=no_exec)
    assert not run_probe(bad, CONTAINER, pod_ip=host, timeout=1, exec_fn=no_exec)
    assert run_probe(tcp, CONTAINER, pod_ip=host, timeout=1, exec_fn=no_exec)
    assert not run_probe(closed, CONTAINER, pod_ip=host, timeout=1, exec_fn=no_exec)
    named = {"httpGet": {"path": "/ok", "port": "missing-name"}}
    assert not run_probe(named, CONTAINER, pod_ip=host, timeout=1, exec_fn=no_exec)


def test_exec_probe_uses_exit_code() -> None:
    calls: list[list[str]] = []

    def fake(argv: list[str], timeout: float) -> int:
        calls.append(argv)
        return 0 if argv[0] == "true" else 1

    assert run_probe({"exec": {"command": ["true"]}}, CONTAINER, pod_ip="", timeout=1, exec_fn=fake)
    assert not run_probe(
        {"exec": {"command": ["false"]}}, CONTAINER, pod_ip="", timeout=1, exec_fn=fake
    )
    assert calls == [["true"], ["false"]]


def _one_response(reply: bytes) -> tuple[str, int, list[bytes]]:
    """A listener that answers one connection with `reply`; returns what it received."""
    host = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"
    srv = socket.create_server((host, 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        with conn, srv:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            got.append(data)
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return host, srv.getsockname()[1], got


def _get(host: str, port: int, **extra: object) -> bool:
    probe = {"httpGet": {"path": "healthz", "port": port, **extra}}
    return run_probe(probe, CONTAINER, pod_ip=host, timeout=1, exec_fn=lambda a, t: 1)


def test_http_probe_reads_only_the_status_line() -> None:
    host, port, got = _one_response(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n")
    assert _get(host, port, httpHeaders=[{"name": "host", "value": "db.example"}])
    request = got[0].decode()
    assert request.startswith("GET /healthz HTTP/1.1\r\n")
    assert "host: db.example\r\n" in request and f":{port}" not in request  # overridden
    assert "Connection: close" in request
    host, port, _ = _one_response(b"HTTP/1.0 404 Not Found\r\n\r\n" + b"x" * 20000)
    assert not _get(host, port)


def test_http_probe_fails_on_what_is_not_http() -> None:
    host, port, _ = _one_response(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert not _get(host, port)
    host, port, _ = _one_response(b"")
    assert not _get(host, port)

"""One probe against real loopback listeners (tcpSocket, httpGet) and a fake exec."""

from __future__ import annotations

import http.server
import random
import threading
from collections.abc import Iterator

import pytest

from petset.node.probes import resolve_port, run_probe


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/ok" and self.headers.get("X-Probe") == "yes" else 500
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    host = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"
    srv = http.server.ThreadingHTTPServer((host, 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield host, srv.server_address[1]
    srv.shutdown()
    srv.server_close()


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

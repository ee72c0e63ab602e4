"""The clone stream: the donor's bytes go straight from the socket into mbstream,
and a stream cut short fails the clone instead of leaving half a datadir."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from petset.engines.mysql.member import open_clone_stream

pytestmark = pytest.mark.acceptance


@contextmanager
def donor(head: bytes, body: bytes, *, reset: bool = False) -> Iterator[int]:
    """A one-shot agent on a random loopback address; yields its port."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(4096)
        conn.sendall(head + body)
        if reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        t.join(5)
        srv.close()


def xbstream(tmp: Path) -> bytes:
    src = tmp / "src"
    src.mkdir()
    (src / "ibdata1").write_bytes(bytes(range(256)) * 2000)
    return subprocess.run(["mbstream", "-c", "ibdata1"], cwd=src, capture_output=True).stdout


def extract(port: int, into: Path) -> int:
    into.mkdir()
    with open_clone_stream("127.0.0.1", port) as sock:
        return subprocess.run(["mbstream", "-x", "-C", str(into)], stdin=sock.fileno()).returncode


OK = b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"


def test_a_whole_stream_lands_byte_for_byte(tmp_path: Path) -> None:
    body = xbstream(tmp_path)
    with donor(OK, body) as port:
        assert extract(port, tmp_path / "out") == 0
    assert (tmp_path / "out/ibdata1").read_bytes() == (tmp_path / "src/ibdata1").read_bytes()


def test_a_donor_that_fails_mid_stream_fails_the_clone(tmp_path: Path) -> None:
    body = xbstream(tmp_path)
    with donor(OK, body[: len(body) // 2], reset=True) as port:
        assert extract(port, tmp_path / "out") != 0


def test_a_refusal_is_reported_with_the_donors_status(tmp_path: Path) -> None:
    with (
        donor(b"HTTP/1.0 503 Service Unavailable\r\n\r\n", b"{}") as port,
        pytest.raises(RuntimeError, match=r"refused the clone: HTTP/1\.0 503"),
    ):
        open_clone_stream("127.0.0.1", port)

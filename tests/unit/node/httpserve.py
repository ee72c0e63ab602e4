"""A throwaway HTTP server on a random loopback address for probe tests."""

from __future__ import annotations

import contextlib
import http.server
import random
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def serve_http(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[tuple[str, int]]:
    host = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"
    srv = http.server.ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield host, srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()

"""The daemon process: one per state directory, serving the API until SIGTERM.

`serve(settings)` holds an exclusive lock on `home/daemon.lock` for its whole
life (a second daemon on the same home exits at once), writes the pid file,
builds and starts the components (`wiring`), then serves the API on the unix
socket (mode 0600) and, when asked, on a loopback TCP address that requires
the bearer token in `settings.token_path`. SIGTERM or SIGINT stops the API,
then the components; pods keep running and the next daemon re-adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hmac
import ipaddress
import json
import os
import secrets
import signal
import socket
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import uvicorn

from petset.api.errors import InvalidError, PetsetError
from petset.api.settings import Settings
from petset.server.app import create_app, status_body
from petset.server.logs import setup_logging
from petset.server.wiring import build

# Streams (watch, logs -f) never end by themselves: on shutdown give them this long.
GRACEFUL_SECONDS = 2


def parse_listen(address: str) -> tuple[str, int]:
    """`127.0.0.1:8443` -> ("127.0.0.1", 8443); anything but a loopback address is refused."""
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise InvalidError(f"--listen {address!r}: expected IP:PORT, e.g. 127.0.0.1:8443") from None
    if not sep or not 0 < number < 65536:
        raise InvalidError(f"--listen {address!r}: expected IP:PORT, e.g. 127.0.0.1:8443")
    if not ip.is_loopback:
        raise InvalidError(
            f"--listen {address!r}: only loopback addresses are allowed (the API can run pods "
            "and read secrets); reach it from elsewhere through an SSH tunnel"
        )
    return str(ip), number


def write_private(path: Path, text: str) -> None:
    """Create or replace a file only its owner can read (token, pid)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure_token(settings: Settings) -> str:
    path = settings.token_path
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    write_private(path, token + "\n")
    return token


class TokenAuth:
    """ASGI wrapper: every HTTP request must carry `Authorization: Bearer <token>`."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            got = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(got, self.expected):
                await self._refuse(send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Any) -> None:
        err = PetsetError("a bearer token is required: set PETSET_TOKEN to the daemon's token")
        body = json.dumps(status_body(err) | {"reason": "Unauthorized", "code": 401}).encode()
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon stops both listeners at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _unix_socket(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left behind by a daemon that was killed
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return sock


def _tcp_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, lifespan="off", log_config=None, timeout_graceful_shutdown=GRACEFUL_SECONDS
    )


async def _serve_api(listeners: list[tuple[Any, socket.socket]], stopping: threading.Event) -> None:
    servers = [(_Server(_config(app)), sock) for app, sock in listeners]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        stopping.set()  # open streams end now instead of holding the shutdown
        for server, _ in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))


def serve(settings: Settings) -> int:
    """Run the daemon in this process until SIGTERM; the exit code for the process."""
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    tcp = parse_listen(settings.tcp_listen) if settings.tcp_listen else None
    lock = open(settings.home / "daemon.lock", "a")  # noqa: SIM115 (held until exit)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"petset: a daemon already runs for {settings.home}", flush=True)
        return 1
    logger = setup_logging(settings.log_path)
    write_private(settings.pid_path, f"{os.getpid()}\n")
    logger.info("daemon starting", extra={"pid": os.getpid(), "home": str(settings.home)})
    comps = build(settings, logger)
    try:
        comps.start()
        app = create_app(comps)
        listeners: list[tuple[Any, socket.socket]] = [(app, _unix_socket(settings.socket_path))]
        if tcp:
            listeners.append((TokenAuth(app, ensure_token(settings)), _tcp_socket(*tcp)))
            logger.info("listening on tcp", extra={"address": f"{tcp[0]}:{tcp[1]}"})
        logger.info("daemon ready", extra={"socket": str(settings.socket_path)})
        asyncio.run(_serve_api(listeners, comps.stopping))
        logger.info("daemon stopping")
    except Exception:
        logger.exception("daemon failed")
        raise
    finally:
        comps.stop()
        with contextlib.suppress(FileNotFoundError):
            settings.socket_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            if settings.pid_path.read_text().strip() == str(os.getpid()):
                settings.pid_path.unlink()
        logger.info("daemon stopped")
    return 0

"""The daemon's HTTP client: unix socket by default, TCP with a token via PETSET_SERVER.

Error responses (Kubernetes Status objects) become petset errors again through
ERRORS_BY_REASON, so the CLI handles a daemon-side NotFoundError exactly like a
local one. Against the local socket, the first request starts the daemon when
none answers (`petset.cli.daemonctl`).

Built on the standard library's http.client, not httpx: importing httpx costs
~0.1 s of CPU per command (it pulls in its own CLI: click, rich, pygments), more
than most verbs spend talking to the daemon. One connection per request: on a
unix socket or loopback that costs microseconds and leaves no pool to manage.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator
from contextlib import closing
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from petset.api.errors import ERRORS_BY_REASON, InvalidError, PetsetError, UnavailableError
from petset.api.settings import Settings

DEFAULT_TIMEOUT = 60.0
# What went wrong after the request reached a daemon: it may have been carried out.
BROKEN = (ConnectionResetError, BrokenPipeError, http.client.HTTPException)


class Response(Protocol):
    """What error_from reads: an httpx or a starlette test response fits as well."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


class _Reply:
    def __init__(self, status: int, data: bytes) -> None:
        self.status_code = status
        self.data = data

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.data)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("petset", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def error_from(resp: Response) -> PetsetError:
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or body.get("kind") != "Status":
        return PetsetError(f"daemon answered HTTP {resp.status_code}: {resp.text[:200]}")
    return error_from_status(body)


def error_from_status(body: dict[str, Any]) -> PetsetError:
    cls = ERRORS_BY_REASON.get(str(body.get("reason")), PetsetError)
    message = str(body.get("message") or body.get("reason"))
    if cls is InvalidError:
        return InvalidError(message, list((body.get("details") or {}).get("problems") or []))
    return cls(message)


def query_string(params: dict[str, Any] | None) -> str:
    """Parameters as httpx encoded them: booleans as true/false, None left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None:
                continue
            pairs.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return "?" + urlencode(pairs) if pairs else ""


class Client:
    def __init__(self, settings: Settings, *, autostart: bool = True) -> None:
        self.settings = settings
        server = os.environ.get("PETSET_SERVER")
        self.remote = bool(server)
        self.autostart = autostart and not self.remote
        self._headers = {"Accept": "application/json"}
        self._server = urlsplit(server) if server else None
        token = os.environ.get("PETSET_TOKEN", "")
        if server and token:
            self._headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        """Nothing stays open between requests; kept for `with client()` callers."""

    def _where(self) -> str:
        return os.environ.get("PETSET_SERVER") or str(self.settings.socket_path)

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._server is None:
            return UnixConnection(str(self.settings.socket_path), timeout)
        host, port = self._server.hostname or "localhost", self._server.port
        if self._server.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _open(
        self, method: str, url: str, body: bytes | None, timeout: float | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        prefix = (self._server.path or "").rstrip("/") if self._server else ""
        conn = self._connection(timeout)
        try:
            try:
                conn.connect()
            except (ConnectionRefusedError, FileNotFoundError, socket.gaierror):
                if not self.autostart:
                    raise UnavailableError(
                        f"no petset daemon answers at {self._where()}; start one with "
                        "`petset daemon start`"
                    ) from None
                # Nothing reached a daemon, so sending the request after starting one is safe.
                from petset.cli.daemonctl import ensure_daemon

                ensure_daemon(self.settings)
                self.autostart = False
                try:
                    conn.connect()
                except OSError as err:
                    raise UnavailableError(
                        f"the daemon does not answer at {self._where()}: {err}"
                    ) from None
            except TimeoutError:
                raise
            except OSError as err:  # permission denied, a TLS failure: say so, no traceback
                raise UnavailableError(f"cannot reach {self._where()}: {err}") from None
            conn.request(method, prefix + url, body=body, headers=headers)
            return conn, conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        try:
            conn, resp = self._open(method, path + query_string(params), data, timeout)
            with closing(conn):
                reply = _Reply(resp.status, resp.read())
        except TimeoutError:
            raise UnavailableError(f"the daemon did not answer within {timeout} s") from None
        except BROKEN as err:
            raise UnavailableError(
                f"the daemon went away during the request ({err!r}); it may or may not have "
                "been carried out: check with `petset get`, and `petset daemon logs`"
            ) from None
        if reply.status_code >= 400:
            raise error_from(reply)
        return reply.json()

    def stream(
        self, path: str, *, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Newline-delimited JSON from a streaming route; an ERROR line raises its error."""
        try:
            conn, resp = self._open("GET", path + query_string(params), None, None)
        except BROKEN:
            raise UnavailableError("the daemon closed the stream (did it stop?)") from None
        with closing(conn):
            try:
                if resp.status >= 400:
                    raise error_from(_Reply(resp.status, resp.read()))
                for line in resp:
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    if item.get("type") == "ERROR":
                        raise error_from_status(item.get("object") or {})
                    yield item
            except BROKEN:
                raise UnavailableError("the daemon closed the stream (did it stop?)") from None

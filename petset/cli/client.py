"""The daemon's HTTP client: unix socket by default, TCP with a token via PETSET_SERVER.

Error responses (Kubernetes Status objects) become petset errors again through
ERRORS_BY_REASON, so the CLI handles a daemon-side NotFoundError exactly like a
local one. Against the local socket, the first request starts the daemon when
none answers (`petset.cli.daemonctl`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx

from petset.api.errors import ERRORS_BY_REASON, InvalidError, PetsetError, UnavailableError
from petset.api.settings import Settings

DEFAULT_TIMEOUT = 60.0


def error_from(resp: httpx.Response) -> PetsetError:
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


class Client:
    def __init__(self, settings: Settings, *, autostart: bool = True) -> None:
        self.settings = settings
        server = os.environ.get("PETSET_SERVER")
        self.remote = bool(server)
        self.autostart = autostart and not self.remote
        if server:
            token = os.environ.get("PETSET_TOKEN", "")
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self._http = httpx.Client(base_url=server, headers=headers, timeout=DEFAULT_TIMEOUT)
        else:
            transport = httpx.HTTPTransport(uds=str(settings.socket_path))
            self._http = httpx.Client(
                transport=transport, base_url="http://petset", timeout=DEFAULT_TIMEOUT
            )

    def close(self) -> None:
        self._http.close()

    def _where(self) -> str:
        return os.environ.get("PETSET_SERVER") or str(self.settings.socket_path)

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        try:
            return self._http.send(request, stream=stream)
        except httpx.ConnectError:
            if not self.autostart:
                raise UnavailableError(
                    f"no petset daemon answers at {self._where()}; start one with "
                    "`petset daemon start`"
                ) from None
        # Nothing reached a daemon, so sending the request again is safe.
        from petset.cli.daemonctl import ensure_daemon

        ensure_daemon(self.settings)
        self.autostart = False
        try:
            return self._http.send(request, stream=stream)
        except httpx.ConnectError as err:
            raise UnavailableError(
                f"the daemon does not answer at {self._where()}: {err}"
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        req = self._http.build_request(
            method, path, params=clean, json=body, timeout=httpx.Timeout(timeout)
        )
        try:
            resp = self._send(req)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as err:
            raise UnavailableError(
                f"the daemon went away during the request ({err}); it may or may not have "
                "been carried out: check with `petset get`, and `petset daemon logs`"
            ) from None
        except httpx.TimeoutException:
            raise UnavailableError(f"the daemon did not answer within {timeout} s") from None
        if resp.status_code >= 400:
            raise error_from(resp)
        return resp.json()

    def stream(
        self, path: str, *, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Newline-delimited JSON from a streaming route; an ERROR line raises its error."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        req = self._http.build_request("GET", path, params=clean, timeout=httpx.Timeout(None))
        resp = self._send(req, stream=True)
        try:
            if resp.status_code >= 400:
                resp.read()
                raise error_from(resp)
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if item.get("type") == "ERROR":
                    raise error_from_status(item.get("object") or {})
                yield item
        except (httpx.ReadError, httpx.RemoteProtocolError):
            raise UnavailableError("the daemon closed the stream (did it stop?)") from None
        finally:
            resp.close()

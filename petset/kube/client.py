"""HTTP to the API server through the official client's ApiClient: its config
loading (kubeconfig, exec plugins, in-cluster tokens), TLS and connection pool,
with petset's errors instead of ApiException.

Only two public ApiClient methods are used (`param_serialize`, `call_api`), so
every kind, petset's custom resources included, goes through one generic path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from petset.api.errors import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    PetsetError,
    UnavailableError,
)

log = logging.getLogger("petset.kube")
Query = dict[str, str | None]


def load_api_client(kubeconfig: str | None = None, *, pool_size: int = 32) -> k8s.ApiClient:
    """$KUBECONFIG / ~/.kube/config (or `kubeconfig`), else the in-cluster service account."""
    cfg = k8s.Configuration()
    try:
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, FileNotFoundError, TypeError):
        if kubeconfig:
            raise
        k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    # every watch holds a connection for its whole duration
    cfg.connection_pool_maxsize = pool_size
    return k8s.ApiClient(cfg)


def error_for(status: int, body: bytes | str | None, what: str) -> PetsetError:
    """The petset error for an API server Status response."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = {}
    message = str(doc.get("message") or body or f"HTTP {status}")
    reason = str(doc.get("reason") or "")
    if status == 404:
        return NotFoundError(message)
    if status == 409:
        return AlreadyExistsError(message) if reason == "AlreadyExists" else ConflictError(message)
    if status == 410:
        return GoneError(message)
    if status == 422:
        causes = (doc.get("details") or {}).get("causes") or []
        problems = [f"{c.get('field', '')}: {c.get('message', '')}" for c in causes]
        return InvalidError(message, problems)
    if status in (400, 403):
        err = InvalidError(f"{what}: {message}")
        err.status = status
        return err
    return UnavailableError(f"{what}: {message} (HTTP {status})")


class Transport:
    """One API server, JSON in and out."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self.api = api

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] | None = 30.0,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        request = self.api.param_serialize(
            method, path, query_params=params, header_params=headers, body=body,
            auth_settings=["BearerToken"],
        )  # fmt: skip
        try:
            return self.api.call_api(*request, _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise UnavailableError(f"{method} {path}: API server unreachable: {err}") from None
        except k8s.ApiException as err:
            raise error_for(err.status or 503, err.body, f"{method} {path}") from None

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """The decoded JSON body (or text for non-JSON responses such as logs)."""
        resp = self._send(method, path, **kw)
        data = resp.read()
        if not 200 <= resp.status <= 299:
            raise error_for(resp.status, data, f"{method} {path}")
        try:
            return json.loads(data) if data else None
        except ValueError:
            return data.decode("utf-8", "replace")

    def request_text(self, path: str, *, query: Query | None = None) -> str:
        """GET a plain-text body (pod logs); an empty body (204) is ''."""
        resp = self._send("GET", path, query=query)
        data = resp.read() or b""
        if not 200 <= resp.status <= 299:
            raise error_for(resp.status, data, f"GET {path}")
        return str(data.decode("utf-8", "replace"))

    def stream_lines(self, path: str, *, query: Query, read_timeout: float) -> Iterator[bytes]:
        """GET a streaming response (a watch) line by line; closes it when done."""
        resp = self._send("GET", path, query=query, timeout=(10.0, read_timeout))
        raw = resp.response
        try:
            if not 200 <= resp.status <= 299:
                raise error_for(resp.status, raw.read(), f"GET {path}")
            pending = b""
            for chunk in raw.stream(65536, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                yield from (line for line in lines if line.strip())
            if pending.strip():
                yield pending
        except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError):
            return  # the server ended the watch or went quiet: the caller resumes
        finally:
            raw.release_conn()

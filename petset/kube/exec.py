"""Exec into a pod through the API server (websocket, channel.k8s.io)."""

from __future__ import annotations

import contextlib
import json
import time

from kubernetes import client as k8s
from kubernetes.stream import stream

from petset.api.errors import UnavailableError
from petset.runtime.cluster import ExecResult


def _reason(err: k8s.ApiException) -> str:
    """The API server's Status message out of a failed websocket handshake."""
    text = str(err.reason or err.body or err)
    start = text.find('{"kind":"Status"')
    if start >= 0:
        with contextlib.suppress(ValueError):
            return str(json.loads(text[start:].split("\n", 1)[0]).get("message") or text)
    return text


def exec_in_pod(
    api: k8s.ApiClient,
    namespace: str,
    name: str,
    command: list[str],
    *,
    container: str | None = None,
    stdin: bytes | None = None,
    timeout: float | None = None,
) -> ExecResult:
    core = k8s.CoreV1Api(api)
    kwargs = {"container": container} if container else {}
    try:
        ws = stream(
            core.connect_get_namespaced_pod_exec, name, namespace, command=command,
            stdin=stdin is not None, stdout=True, stderr=True, tty=False,
            _preload_content=False, binary=True, **kwargs,
        )  # fmt: skip
    except k8s.ApiException as err:
        raise UnavailableError(f"exec in pod {namespace}/{name}: {_reason(err)}") from None
    out, errs = bytearray(), bytearray()
    deadline = time.monotonic() + timeout if timeout else None
    try:
        if stdin:
            ws.write_stdin(stdin)
        while ws.is_open():
            ws.update(timeout=0.5)
            out += ws.read_stdout() or b""
            errs += ws.read_stderr() or b""
            if deadline is not None and time.monotonic() > deadline:
                raise UnavailableError(f"exec in pod {namespace}/{name}: timed out")
        out += ws.read_stdout() or b""
        errs += ws.read_stderr() or b""
        code = ws.returncode
    finally:
        ws.close()
    return ExecResult(int(code) if code is not None else -1, bytes(out), bytes(errs))

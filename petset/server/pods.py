"""Pod logs and exec routes.

GET  /v1/pods/{namespace}/{name}/logs   ?container&tail&previous&timestamps&follow
     -> {"text": ...}, or with follow=true newline-delimited {"line": ...}
POST /v1/pods/{namespace}/{name}/exec   {"command": [...], "container", "stdin" (base64),
     "timeout"} -> {"exitCode", "stdout" (base64), "stderr" (base64)}
GET  /v1/pods/{namespace}/{name}/exec-argv ?container -> {"argv": [...]}: the command that
     enters the pod's sandbox, run by the CLI itself for `exec -it` (a terminal does not
     travel over this API).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from petset.api.errors import InvalidError, UnavailableError
from petset.server.wiring import Components


def _comps(request: Request) -> Components:
    c: Components = request.app.state.components
    return c


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _tail(request: Request) -> int | None:
    raw = request.query_params.get("tail")
    if raw in (None, "", "-1"):
        return None
    tail = int(raw)
    if tail < 0:
        raise InvalidError(f"tail {raw}: must be >= 0 (or -1 for everything)")
    return tail


def _node(comps: Components, what: str) -> Any:
    if comps.node is None:
        raise UnavailableError(f"{what} needs the local node, which this daemon does not run")
    return comps.node


async def logs(request: Request) -> Response:
    comps = _comps(request)
    ns, name = request.path_params["namespace"], request.path_params["name"]
    container = request.query_params.get("container") or None
    tail, timestamps = _tail(request), _flag(request, "timestamps")
    if _flag(request, "follow"):
        node = _node(comps, "logs -f")
        # Resolve the pod first so a wrong name is a 404, not an empty stream.
        await run_in_threadpool(comps.cluster.get, "Pod", name, ns)

        def lines() -> Iterator[bytes]:
            for line in node.follow_logs(
                ns, name, container=container, tail=tail, timestamps=timestamps
            ):
                yield json.dumps({"line": line}).encode() + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")
    previous = _flag(request, "previous")
    if timestamps:
        text = await run_in_threadpool(
            lambda: _node(comps, "logs --timestamps").pod_logs(
                ns, name, container=container, tail=tail, previous=previous, timestamps=True
            )
        )
    else:
        text = await run_in_threadpool(
            lambda: comps.cluster.pod_logs(
                ns, name, container=container, tail=tail, previous=previous
            )
        )
    return JSONResponse({"text": text})


async def exec_(request: Request) -> Response:
    comps = _comps(request)
    ns, name = request.path_params["namespace"], request.path_params["name"]
    body = json.loads(await request.body() or b"{}")
    command = body.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise InvalidError("exec: command must be a non-empty list of strings")
    stdin = base64.b64decode(body["stdin"]) if body.get("stdin") is not None else None
    timeout = float(body["timeout"]) if body.get("timeout") else None
    result = await run_in_threadpool(
        lambda: comps.cluster.pod_exec(
            ns, name, command, container=body.get("container"), stdin=stdin, timeout=timeout
        )
    )
    return JSONResponse(
        {
            "exitCode": result.exit_code,
            "stdout": base64.b64encode(result.stdout).decode(),
            "stderr": base64.b64encode(result.stderr).decode(),
        }
    )


async def exec_argv(request: Request) -> Response:
    comps = _comps(request)
    ns, name = request.path_params["namespace"], request.path_params["name"]
    container = request.query_params.get("container") or None
    node = _node(comps, "exec -it")
    argv = await run_in_threadpool(lambda: node.exec_argv(ns, name, container))
    return JSONResponse({"argv": list(argv)})


def routes() -> list[Route]:
    base = "/v1/pods/{namespace}/{name}"
    return [
        Route(f"{base}/logs", logs),
        Route(f"{base}/exec", exec_, methods=["POST"]),
        Route(f"{base}/exec-argv", exec_argv),
    ]

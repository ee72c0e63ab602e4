"""Scale, rollout and daemon routes.

POST /v1/scale/{kind}/{name}            ?namespace  {"replicas": N} -> the object
POST /v1/rollout/{action}/{kind}/{name} ?namespace  {"toRevision": N (undo)}
     action: status | history | undo | restart | pause | resume
     -> {"message": str, "done": bool (status), "revisions": [...] (history), "object"}
POST /v1/daemon/stop-pods               stop every pod this node runs (for `daemon stop --pods`)
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from petset.api.errors import InvalidError, UnavailableError
from petset.api.kinds import kind_info
from petset.server.wiring import Components

SCALABLE = ("StatefulSet", "Deployment", "ReplicaSet")
ROLLOUT_MODULES = {
    "StatefulSet": "petset.controllers.statefulset.rollout",
    "Deployment": "petset.controllers.deployment.rollout",
}
ROLLOUT_ACTIONS = ("status", "history", "undo", "restart", "pause", "resume")


def _comps(request: Request) -> Components:
    c: Components = request.app.state.components
    return c


def _target(request: Request) -> tuple[str, str, str]:
    kind = kind_info(request.path_params["kind"]).kind
    ns = request.query_params.get("namespace") or "default"
    return kind, ns, request.path_params["name"]


async def _body(request: Request) -> dict[str, Any]:
    body = json.loads(await request.body() or b"{}")
    if not isinstance(body, dict):
        raise InvalidError("request body must be a JSON object")
    return body


def scale_object(comps: Components, kind: str, ns: str, name: str, replicas: Any) -> Any:
    if kind not in SCALABLE:
        raise InvalidError(f"{kind} cannot be scaled; scalable kinds: {', '.join(SCALABLE)}")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise InvalidError(f"--replicas {replicas!r}: must be an integer >= 0")
    return comps.cluster.patch(kind, name, ns, {"spec": {"replicas": replicas}})


async def scale(request: Request) -> Response:
    kind, ns, name = _target(request)
    body = await _body(request)
    obj = await run_in_threadpool(
        scale_object, _comps(request), kind, ns, name, body.get("replicas")
    )
    return JSONResponse(obj)


def rollout_module(kind: str) -> Any:
    module = ROLLOUT_MODULES.get(kind)
    if module is None:
        raise InvalidError(f"{kind} has no rollouts; kinds with rollouts: StatefulSet, Deployment")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise UnavailableError(f"rollouts of {kind} are not implemented yet") from None


async def rollout(request: Request) -> Response:
    action = request.path_params["action"]
    if action not in ROLLOUT_ACTIONS:
        raise InvalidError(f"rollout {action}: must be one of {', '.join(ROLLOUT_ACTIONS)}")
    kind, ns, name = _target(request)
    body = await _body(request)
    module = rollout_module(kind)
    cluster = _comps(request).cluster
    result = await run_in_threadpool(
        lambda: module.rollout_action(cluster, action, ns, name, **body)
    )
    return JSONResponse(result)


async def stop_pods(request: Request) -> Response:
    comps = _comps(request)
    if comps.node is None:
        return JSONResponse({"stopped": 0})
    stopped = await run_in_threadpool(comps.node.shutdown_pods)
    return JSONResponse({"stopped": stopped if isinstance(stopped, int) else None})


def routes() -> list[Route]:
    return [
        Route("/v1/scale/{kind}/{name}", scale, methods=["POST"]),
        Route("/v1/rollout/{action}/{kind}/{name}", rollout, methods=["POST"]),
        Route("/v1/daemon/stop-pods", stop_pods, methods=["POST"]),
    ]

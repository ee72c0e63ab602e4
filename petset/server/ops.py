"""Scale, rollout and daemon routes.

POST /v1/scale/{kind}/{name}            ?namespace  {"replicas": N} -> the object
POST /v1/rollout/{action}/{kind}/{name} ?namespace  {"toRevision": N (undo)}
     action: status | history | undo | restart | pause | resume
     -> {"message": str, "done": bool (status), "revisions": [...] (history), "object"}
POST /v1/daemon/stop-pods               stop every pod this node runs (for `daemon stop --pods`)
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from petset.api.errors import InvalidError
from petset.api.kinds import kind_info
from petset.api.meta import Obj
from petset.controllers.deployment import rollout as deploy_rollout
from petset.controllers.statefulset import rollout as sts_rollout
from petset.runtime.cluster import Cluster
from petset.server.wiring import Components

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


def scale_object(comps: Components, kind: str, ns: str, name: str, replicas: Any) -> Obj:
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise InvalidError(f"--replicas {replicas!r}: must be an integer >= 0")
    if not kind_info(kind).builtin:
        from petset.server.app import patch_checked

        return patch_checked(comps.cluster, kind, name, ns, {"spec": {"replicas": replicas}})
    return sts_rollout.scale(comps.cluster, kind, ns, name, replicas)


async def scale(request: Request) -> Response:
    kind, ns, name = _target(request)
    body = await _body(request)
    replicas = body.get("replicas")
    obj = await run_in_threadpool(scale_object, _comps(request), kind, ns, name, replicas)
    return JSONResponse(obj)


def _label(kind: str, name: str) -> str:
    return f"{kind.lower()}.apps/{name}"


def _history(cluster: Cluster, kind: str, ns: str, name: str) -> dict[str, Any]:
    module: Any = sts_rollout if kind == "StatefulSet" else deploy_rollout
    revisions = [
        {"revision": r.revision, "changeCause": r.change_cause, "template": r.template}
        for r in module.rollout_history(cluster, ns, name)
    ]
    return {"message": f"{len(revisions)} revisions", "revisions": revisions}


def _statefulset(cluster: Cluster, action: str, ns: str, name: str, body: Obj) -> str:
    label = _label("StatefulSet", name)
    if action == "undo":
        before = cluster.get("StatefulSet", name, ns)["metadata"]["resourceVersion"]
        to = int(body.get("toRevision") or 0)
        after = sts_rollout.rollout_undo(cluster, ns, name, to or None)
        if after["metadata"]["resourceVersion"] == before:
            return f"{label} skipped rollback (current template already matches revision {to})"
        return f"{label} rolled back"
    verbs = {"restart": (sts_rollout.rollout_restart, "restarted"),
             "pause": (sts_rollout.rollout_pause, "paused"),
             "resume": (sts_rollout.rollout_resume, "resumed")}  # fmt: skip
    fn, done = verbs[action]
    fn(cluster, ns, name)
    return f"{label} {done}"


def _deployment(cluster: Cluster, action: str, ns: str, name: str, body: Obj) -> str:
    if action == "undo":
        return deploy_rollout.rollout_undo(cluster, ns, name, int(body.get("toRevision") or 0))
    fn = {"restart": deploy_rollout.rollout_restart, "pause": deploy_rollout.rollout_pause,
          "resume": deploy_rollout.rollout_resume}[action]  # fmt: skip
    return str(fn(cluster, ns, name))


def rollout_action(cluster: Cluster, action: str, kind: str, ns: str, name: str, body: Obj) -> Obj:
    """One `rollout` verb as {"message", "done"?, "revisions"?}: the two kinds' modules agree
    on the verbs but not on what they return."""
    if kind == "MySQLCluster":
        return _mysqlcluster(cluster, action, ns, name)
    if kind not in ("StatefulSet", "Deployment"):
        raise InvalidError(f"{kind} has no rollouts; kinds with rollouts: StatefulSet, Deployment")
    if action == "status":
        module: Any = sts_rollout if kind == "StatefulSet" else deploy_rollout
        done, message = module.rollout_status(cluster.get(kind, name, ns))
        return {"done": bool(done), "message": str(message).rstrip("\n")}
    if action == "history":
        return _history(cluster, kind, ns, name)
    if kind == "StatefulSet":
        return {"message": _statefulset(cluster, action, ns, name, body)}
    return {"message": _deployment(cluster, action, ns, name, body)}


def _mysqlcluster(cluster: Cluster, action: str, ns: str, name: str) -> Obj:
    """MySQLCluster rollouts are the engine's (replicas first, the primary last)."""
    from petset.engines.mysql import lifecycle
    from petset.server.app import patch_checked

    obj = cluster.get("MySQLCluster", name, ns)
    record = (obj.get("status") or {}).get("rollout") or {}
    if action == "status":
        done = record.get("state") == "Complete"
        return {"done": done, "message": str(record.get("message") or "no rollout observed yet")}
    if action == "history":
        revisions = [
            {"revision": i + 1, "changeCause": what, "template": record[key]}
            for i, (key, what) in enumerate((("previous", "previous"), ("current", "current")))
            if record.get(key) is not None
        ]
        return {"message": f"{len(revisions)} revisions", "revisions": revisions}
    if action != "undo":
        raise InvalidError(f"rollout {action} is not supported for MySQLCluster; use undo")
    try:
        patch, message = lifecycle.undo_patch(record, obj.get("spec") or {})
    except LookupError as exc:
        raise InvalidError(f"mysqlcluster/{name}: {exc}") from None
    patch_checked(cluster, "MySQLCluster", name, ns, {"spec": patch})
    return {"message": f"mysqlcluster/{name} {message}: replicas first, the primary last"}


async def rollout(request: Request) -> Response:
    action = request.path_params["action"]
    if action not in ROLLOUT_ACTIONS:
        raise InvalidError(f"rollout {action}: must be one of {', '.join(ROLLOUT_ACTIONS)}")
    kind, ns, name = _target(request)
    body = await _body(request)
    cluster = _comps(request).cluster
    result = await run_in_threadpool(rollout_action, cluster, action, kind, ns, name, body)
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

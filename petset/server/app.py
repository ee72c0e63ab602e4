"""The daemon's HTTP API: JSON over a unix socket (or loopback TCP with a bearer token).

Routes (kinds are exact kind names, `StatefulSet`; `namespace` is a query
parameter, ignored for cluster-scoped kinds; omitted on a list it means all):

  GET    /healthz                                      {"ok": true}
  GET    /v1/version                                   {"version", "pid", "home"}
  POST   /v1/apply            {"files": [{"source", "text"}], "namespace"}
                              -> {"results": [{"apiVersion", "kind", "namespace", "name",
                                   "action", "resourceVersion"}], "warnings": [...]}
  POST   /v1/delete           {"files": [...], "namespace", "propagation"}
                              -> {"results": [{"kind", "namespace", "name", "deleted", "error"}]}
  GET    /v1/objects/{kind}                ?namespace&labelSelector&fieldSelector -> List
  GET    /v1/objects/{kind}/{name}         ?namespace -> the object
  DELETE /v1/objects/{kind}/{name}         ?namespace&propagation=Background|Foreground|Orphan
  PATCH  /v1/objects/{kind}/{name}         ?namespace, body: a JSON merge patch -> the object
  GET    /v1/watch/{kind}                  ?namespace&resourceVersion&labelSelector&timeout
                              -> newline-delimited {"type", "object", "resourceVersion"}
  GET    /v1/events                        ?namespace&kind&name -> List of Events
  (pod logs, exec, scale, rollout and daemon routes: see `petset.server.pods` and `.ops`)

Errors are Kubernetes Status objects: {"kind": "Status", "reason", "message",
"code", "details": {"problems": [...]}} with the HTTP code of the petset error
(`petset.api.errors`), which the client maps back through ERRORS_BY_REASON.
Input is validated here (`validate_documents`), whatever the client did.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from petset import __version__
from petset.api.errors import ConflictError, GoneError, InvalidError, NotFoundError, PetsetError
from petset.api.kinds import UnknownKindError, kind_info
from petset.api.loader import Document
from petset.api.merge import merge_patch
from petset.api.meta import Obj
from petset.api.validation import validate_documents
from petset.server import documents, ops, pods
from petset.server.wiring import Components
from petset.store import RawChange, Store

# A manifest is at most 3 MiB (the loader says why); leave room for JSON escaping.
MAX_BODY_BYTES = 16 * 1024 * 1024
# A watch re-arms this often so that a thread whose client went away is freed.
WATCH_CHUNK_SECONDS = 1.0


def status_body(err: PetsetError) -> dict[str, Any]:
    message = str(err.args[0]) if err.args else err.reason
    problems = err.problems if isinstance(err, InvalidError) else []
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": err.reason,
        "message": message,
        "code": err.status,
        "details": {"problems": problems},
    }


def error_response(err: Exception) -> JSONResponse:
    if isinstance(err, UnknownKindError):
        err = NotFoundError(str(err.args[0]))
    if not isinstance(err, PetsetError):
        err = PetsetError(f"internal error: {type(err).__name__}: {err}")
    return JSONResponse(status_body(err), status_code=err.status)


def comps(request: Request) -> Components:
    c: Components = request.app.state.components
    return c


def kind_of(request: Request) -> str:
    return kind_info(request.path_params["kind"]).kind


def namespace_for(kind: str, request: Request, *, default: str | None = "default") -> str | None:
    if not kind_info(kind).namespaced:
        return ""
    return request.query_params.get("namespace", default)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidError(f"request of {len(raw)} bytes is over the {MAX_BODY_BYTES} limit")
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as err:
        raise InvalidError(f"request body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise InvalidError("request body must be a JSON object")
    return body


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def version(request: Request) -> Response:
    home = str(comps(request).settings.home)
    return JSONResponse({"version": __version__, "pid": os.getpid(), "home": home})


async def apply(request: Request) -> Response:
    body = await json_body(request)
    result = await run_in_threadpool(documents.apply_files, comps(request), body)
    return JSONResponse(result)


async def delete_files(request: Request) -> Response:
    body = await json_body(request)
    result = await run_in_threadpool(documents.delete_files, comps(request), body)
    return JSONResponse(result)


async def list_objects(request: Request) -> Response:
    kind = kind_of(request)
    ns = namespace_for(kind, request, default=None)
    q = request.query_params
    store = comps(request).cluster.store
    query = functools.partial(
        store.cached_list_json,
        kind,
        ns if ns != "" else None,
        label_selector=q.get("labelSelector"),
        field_selector=q.get("fieldSelector"),
    )
    # Under load every thread hop is a wait for the scheduler: an answer already
    # in memory is sent from here, only a miss reads the database in a thread.
    found = query()
    if found is None:
        found = await run_in_threadpool(store.list_json, *query.args, **query.keywords)
    return Response(list_document(*found), media_type="application/json")


def list_document(items: list[str], resource_version: int) -> bytes:
    """The List around the objects' stored JSON text: parsing and re-serialising
    100 pods took ~10-30 ms, on the event loop, holding up every other request."""
    head = '{"apiVersion":"v1","kind":"List","items":['
    tail = f'],"metadata":{{"resourceVersion":{resource_version}}}}}'
    return (head + ",".join(items) + tail).encode()


async def get_object(request: Request) -> Response:
    kind = kind_of(request)
    ns = namespace_for(kind, request) or ""
    name = request.path_params["name"]
    obj = await run_in_threadpool(comps(request).cluster.get, kind, name, ns)
    return JSONResponse(obj)


async def patch_object(request: Request) -> Response:
    """RFC 7386 merge patch (kubectl patch --type=merge); `status` patches status."""
    kind = kind_of(request)
    ns = namespace_for(kind, request) or ""
    name = request.path_params["name"]
    body = await request.json()
    if not isinstance(body, dict):
        raise InvalidError('a merge patch must be a JSON object, e.g. {"spec": {"replicas": 3}}')
    obj = await run_in_threadpool(patch_checked, comps(request).cluster, kind, name, ns, body)
    return JSONResponse(obj)


PATCH_CONFLICT_RETRIES = 5


def patch_checked(cluster: Any, kind: str, name: str, ns: str, patch: Obj) -> Obj:
    """A user's patch is input like any other: the patched object must still be
    valid, or nothing changes.

    The object is validated as merged from the version read, and written only
    over that version. When a controller wrote in between (a status update bumps
    the resourceVersion), the patch is merged, validated and tried again, as
    the API server does for patches; a patch that names a resourceVersion
    itself asked for that precondition and gets the conflict."""
    pinned = bool((patch.get("metadata") or {}).get("resourceVersion"))
    for attempt in range(PATCH_CONFLICT_RETRIES + 1):
        current = cluster.get(kind, name, ns)
        merged = merge_patch(current, patch)
        validate_documents([Document(f"patch of {kind}/{name}", 0, merged)])
        merged_rv = {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]}}
        try:
            guarded = patch if pinned else merge_patch(patch, merged_rv)
            result: Obj = cluster.patch(kind, name, ns, guarded)
        except ConflictError:
            if pinned or attempt == PATCH_CONFLICT_RETRIES:
                raise
            continue
        return result
    raise AssertionError("unreachable")


async def delete_object(request: Request) -> Response:
    kind = kind_of(request)
    ns = namespace_for(kind, request) or ""
    name = request.path_params["name"]
    propagation = documents.propagation(request.query_params.get("propagation"))
    cluster = comps(request).cluster
    await run_in_threadpool(cluster.delete, kind, name, ns, propagation=propagation)
    return JSONResponse({"kind": kind, "namespace": ns, "name": name, "deleted": True})


def watch_lines(
    store: Store,
    kind: str,
    namespace: str | None,
    *,
    resource_version: str | None,
    label_selector: str | None,
    timeout: float | None,
    stopping: threading.Event,
) -> Iterator[bytes]:
    """NDJSON watch events, re-armed in chunks from the last version seen.

    Events come as stored JSON text, one write to the client per batch of them:
    no parse and dump of each object per watcher, one thread hop per batch.
    An idle chunk yields an empty line: it hands control back to the server, which
    ends the stream there when the client has gone or the daemon is stopping.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    rv = resource_version
    try:
        while not stopping.is_set():
            chunk = WATCH_CHUNK_SECONDS
            if deadline is not None:
                chunk = min(chunk, deadline - time.monotonic())
                if chunk <= 0:
                    return
            for batch in store.watch_json(
                kind, namespace, resource_version=rv, label_selector=label_selector, timeout=chunk
            ):
                rv = str(batch[-1].resource_version)
                yield "".join(map(event_line, batch)).encode()
            yield b"\n"
    except (GoneError, InvalidError, NotFoundError) as err:
        yield json.dumps({"type": "ERROR", "object": status_body(err)}).encode() + b"\n"


def event_line(change: RawChange) -> str:
    rv = change.resource_version
    return f'{{"type":"{change.type}","object":{change.data},"resourceVersion":"{rv}"}}\n'


async def watch(request: Request) -> Response:
    kind = kind_of(request)
    ns = namespace_for(kind, request, default=None)
    q = request.query_params
    timeout = float(q["timeout"]) if q.get("timeout") else None
    lines = watch_lines(
        comps(request).cluster.store,
        kind,
        ns if ns != "" else None,
        resource_version=q.get("resourceVersion") or None,
        label_selector=q.get("labelSelector"),
        timeout=timeout,
        stopping=comps(request).stopping,
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")


async def events(request: Request) -> Response:
    q = request.query_params
    items = await run_in_threadpool(
        documents.events_for, comps(request), q.get("namespace"), q.get("kind"), q.get("name")
    )
    return JSONResponse({"apiVersion": "v1", "kind": "List", "items": items})


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz),
        Route("/v1/version", version),
        Route("/v1/apply", apply, methods=["POST"]),
        Route("/v1/delete", delete_files, methods=["POST"]),
        Route("/v1/objects/{kind}", list_objects),
        Route("/v1/objects/{kind}/{name}", get_object),
        Route("/v1/objects/{kind}/{name}", delete_object, methods=["DELETE"]),
        Route("/v1/objects/{kind}/{name}", patch_object, methods=["PATCH"]),
        Route("/v1/watch/{kind}", watch),
        Route("/v1/events", events),
        *pods.routes(),
        *ops.routes(),
    ]


async def _on_known_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValueError | KeyError) and not isinstance(exc, UnknownKindError):
        exc = InvalidError(f"bad request: {exc}")
    return error_response(exc)


async def _on_bug(request: Request, exc: Exception) -> Response:
    return error_response(exc)


def create_app(components: Components) -> Starlette:
    # Known errors are answered quietly; anything else is answered as a Status and
    # also logged with its traceback by the server (Starlette re-raises it).
    handlers: dict[Any, Any] = {
        cls: _on_known_error for cls in (PetsetError, UnknownKindError, ValueError, KeyError)
    }
    handlers[Exception] = _on_bug
    app = Starlette(routes=routes(), exception_handlers=handlers)
    app.state.components = components
    return app


def obj_ref(obj: Obj) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    return {"kind": obj.get("kind"), "namespace": md.get("namespace") or "", "name": md.get("name")}

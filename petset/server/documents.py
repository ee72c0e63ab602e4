"""Apply and delete batches of documents, and read Events: the handlers' work, off the loop."""

from __future__ import annotations

from typing import Any, cast

from petset.api.errors import InvalidError, PetsetError
from petset.api.kinds import UnknownKindError, kind_info
from petset.api.loader import Document, load_documents
from petset.api.meta import Obj
from petset.runtime.cluster import Propagation
from petset.server.wiring import Components

PROPAGATIONS = ("Background", "Foreground", "Orphan")


def propagation(value: str | None) -> Propagation:
    if not value:
        return "Background"
    for p in PROPAGATIONS:
        if value.lower() == p.lower():
            return cast(Propagation, p)
    raise InvalidError(f"propagation {value!r}: must be one of {', '.join(PROPAGATIONS)}")


def _load(body: dict[str, Any]) -> list[Document]:
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise InvalidError("nothing to apply: give at least one file")
    docs: list[Document] = []
    problems: list[str] = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("text"), str):
            raise InvalidError("each file must be {'source': str, 'text': str}")
        try:
            docs += load_documents(f["text"], str(f.get("source") or "<input>"))
        except InvalidError as err:
            # Every file is read before failing, so one run names every broken file.
            problems += err.problems or [str(err.args[0])]
    if problems:
        raise InvalidError("the input was rejected; nothing was changed", problems)
    return docs


def apply_files(comps: Components, body: dict[str, Any]) -> dict[str, Any]:
    """Validate every document, then apply them all or none."""
    from petset.api.defaults import apply_defaults
    from petset.api.validation import validate_documents

    namespace = str(body.get("namespace") or "default")
    validated = validate_documents(_load(body), default_namespace=namespace)
    results = comps.cluster.apply_many(
        [v.obj for v in validated], manager="petset", defaults=apply_defaults
    )
    warnings = [w for v in validated for w in v.warnings]
    out = []
    for res in results:
        md = res.obj.get("metadata") or {}
        out.append(
            {
                "apiVersion": res.obj.get("apiVersion"),
                "kind": res.obj.get("kind"),
                "namespace": md.get("namespace") or "",
                "name": md.get("name"),
                "action": res.action,
                "resourceVersion": md.get("resourceVersion"),
            }
        )
    comps.logger.info("applied %d objects", len(out), extra={"results": out})
    return {"results": out, "warnings": warnings}


def _target(obj: Obj, namespace: str) -> tuple[str, str, str]:
    kind = kind_info(str(obj.get("kind"))).kind
    md = obj.get("metadata") or {}
    name = md.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidError(f"{kind}: metadata.name: Required value")
    ns = str(md.get("namespace") or namespace) if kind_info(kind).namespaced else ""
    return kind, ns, name


def delete_files(comps: Components, body: dict[str, Any]) -> dict[str, Any]:
    """Delete every object the files name; a missing one is reported, the rest still go."""
    namespace = str(body.get("namespace") or "default")
    prop = propagation(body.get("propagation"))
    out = []
    for doc in _load(body):
        try:
            kind, ns, name = _target(doc.obj, namespace)
        except UnknownKindError as err:
            raise InvalidError(f"{doc.where()}: {err}") from None
        entry: dict[str, Any] = {"kind": kind, "namespace": ns, "name": name, "deleted": False}
        try:
            comps.cluster.delete(kind, name, ns, propagation=prop)
            entry["deleted"] = True
        except PetsetError as err:
            entry["error"] = str(err)
            entry["reason"] = err.reason
        out.append(entry)
    return {"results": out}


def events_for(
    comps: Components, namespace: str | None, kind: str | None, name: str | None
) -> list[Obj]:
    """Events (of one object when kind/name are given), oldest first."""
    if kind:
        kind = kind_info(kind).kind
    items = comps.cluster.list("Event", namespace or None)
    picked = []
    for ev in items:
        inv = ev.get("involvedObject") or {}
        if kind and inv.get("kind") != kind:
            continue
        if name and inv.get("name") != name:
            continue
        picked.append(ev)
    picked.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return picked

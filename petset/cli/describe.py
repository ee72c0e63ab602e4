"""describe and events: an object's key fields, its conditions and what happened to it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from petset.api.errors import InvalidError, UnavailableError
from petset.api.kinds import KindInfo
from petset.api.meta import Obj
from petset.cli import tables
from petset.cli.client import Client
from petset.cli.common import NamespaceOpt, client, echo_err, require_name, split_target


def _pairs(mapping: dict[str, Any] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (mapping or {}).items()) or "<none>"


def _field_lines(obj: Obj) -> list[tuple[str, str]]:
    """Kind-specific lines after the common metadata ones."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    kind = obj.get("kind")
    lines: list[tuple[str, str]] = []
    if kind in ("StatefulSet", "Deployment", "ReplicaSet"):
        sel = (spec.get("selector") or {}).get("matchLabels")
        lines += [("Selector", _pairs(sel))]
        lines += [
            (
                "Replicas",
                f"{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total | "
                f"{status.get('readyReplicas', 0)} ready | "
                f"{status.get('updatedReplicas', 0)} updated",
            )
        ]
        if kind == "StatefulSet":
            strategy = spec.get("updateStrategy") or {}
            lines += [
                ("Service Name", str(spec.get("serviceName") or "")),
                ("Pod Management Policy", str(spec.get("podManagementPolicy") or "OrderedReady")),
                ("Update Strategy", str(strategy.get("type") or "RollingUpdate")),
                ("Current Revision", str(status.get("currentRevision") or "")),
                ("Update Revision", str(status.get("updateRevision") or "")),
            ]
    elif kind == "Pod":
        lines += [
            ("Node", str(spec.get("nodeName") or "<none>")),
            ("Status", tables.pod_status(obj)),
            ("IP", str(status.get("podIP") or "<none>")),
        ]
        for cs in status.get("containerStatuses") or []:
            state = ", ".join((cs.get("state") or {}).keys()) or "unknown"
            lines.append(
                (
                    f"Container {cs.get('name')}",
                    f"{state}, ready={cs.get('ready', False)}, "
                    f"restarts={cs.get('restartCount', 0)}",
                )
            )
    elif kind == "Service":
        lines += [
            ("Type", str(spec.get("type") or "ClusterIP")),
            ("IP", str(spec.get("clusterIP") or "<none>")),
            ("Selector", _pairs(spec.get("selector"))),
        ]
        lines += [("Port", f"{p.get('name', '<unset>')} {p.get('port')}/{p.get('protocol', 'TCP')}")
                  for p in spec.get("ports") or []]  # fmt: skip
    elif kind == "PersistentVolumeClaim":
        lines += [
            ("StorageClass", str(spec.get("storageClassName") or "")),
            ("Status", str(status.get("phase") or "Pending")),
            ("Volume", str(spec.get("volumeName") or "")),
            ("Capacity", str((status.get("capacity") or {}).get("storage") or "")),
        ]
    elif kind == "MySQLCluster":
        lines += _mysql_lines(status)
    elif kind in ("ConfigMap", "Secret"):
        lines += [("Data", ", ".join(sorted((obj.get("data") or {}).keys())) or "<none>")]
    return lines


def _mysql_lines(status: dict[str, Any]) -> list[tuple[str, str]]:
    """Topology and lifecycle: primary, members, rollout, parameters pending a restart."""
    members = status.get("members") or []
    config, rollout = status.get("config") or {}, status.get("rollout") or {}
    lines = [
        ("Phase", str(status.get("phase") or "Pending")),
        ("Primary", str(status.get("primary") or "<none>")),
        ("Members", ", ".join(
            f"{m['name']} ({'fenced' if m.get('fenced') else m.get('role', '?')}"
            f"{'' if m.get('healthy') or m.get('fenced') else ', unhealthy'})"
            for m in members) or "<none>"),
        ("Rollout", f"{rollout.get('state', '-')}: {rollout.get('message', '')}"),
        ("Pending Restart", ", ".join(config.get("pendingRestart") or []) or "<none>"),
    ]  # fmt: skip
    if config.get("error"):
        lines.append(("Config Error", str(config["error"])))
    if status.get("fenced"):
        lines.append(("Fenced", ", ".join(status["fenced"])))
    if status.get("hibernation"):
        lines.append(("Hibernation", str(status["hibernation"].get("state"))))
    return lines


def render(obj: Obj, events: list[Obj]) -> str:
    md = obj.get("metadata") or {}
    lines: list[tuple[str, str]] = [("Name", str(md.get("name")))]
    if md.get("namespace"):
        lines.append(("Namespace", str(md["namespace"])))
    lines += [
        ("Kind", f"{obj.get('kind')} ({obj.get('apiVersion')})"),
        ("Labels", _pairs(md.get("labels"))),
        ("Annotations", _pairs(md.get("annotations"))),
        ("CreationTimestamp", str(md.get("creationTimestamp") or "")),
        ("UID", str(md.get("uid") or "")),
        ("Generation", str(md.get("generation") or "")),
        ("ResourceVersion", str(md.get("resourceVersion") or "")),
    ]
    owner = next((r for r in md.get("ownerReferences") or [] if r.get("controller")), None)
    if owner:
        lines.append(("Controlled By", f"{owner.get('kind')}/{owner.get('name')}"))
    if md.get("deletionTimestamp"):
        lines.append(("Terminating Since", str(md["deletionTimestamp"])))
    lines += _field_lines(obj)
    width = max(len(k) for k, _ in lines) + 2
    out = [f"{k + ':':<{width}}{v}" for k, v in lines]
    conditions = (obj.get("status") or {}).get("conditions") or []
    if conditions:
        table = [["Type", "Status", "Reason", "Message"]]
        table += [
            [str(c.get(f, "")) for f in ("type", "status", "reason", "message")] for c in conditions
        ]
        out += ["Conditions:", _indent(tables.render(table))]
    if events:
        table = [["Type", "Reason", "Age", "From", "Message"]]
        for ev in events:
            when = tables.age(ev.get("lastTimestamp") or ev.get("eventTime"))
            count = int(ev.get("count") or 1)
            age = f"{when} (x{count})" if count > 1 else when
            source = str((ev.get("source") or {}).get("component") or "")
            table.append(
                [str(ev.get("type")), str(ev.get("reason")), age, source, str(ev.get("message"))]
            )
        out += ["Events:", _indent(tables.render(table))]
    else:
        out.append("Events:  <none>")
    return "\n".join(out)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _events(c: Client, info: KindInfo | None, name: str | None, ns: str | None) -> list[Obj]:
    params = {"namespace": ns, "kind": info.kind if info else None, "name": name}
    items: list[Obj] = c.request("GET", "/v1/events", params=params)["items"]
    return items


def describe(
    kind: Annotated[str, typer.Argument(help="Kind, or KIND/NAME.")],
    name: Annotated[str | None, typer.Argument()] = None,
    namespace: NamespaceOpt = "default",
) -> None:
    """Show an object's key fields, conditions and events."""
    info, got = require_name(kind, name, "describe")
    with client() as c:
        obj = c.request("GET", f"/v1/objects/{info.kind}/{got}", params={"namespace": namespace})
        ns = (obj.get("metadata") or {}).get("namespace") or None
        print(render(obj, _events(c, info, got, ns)))


def events(
    for_: Annotated[str | None, typer.Option("--for", help="Only events of KIND/NAME.")] = None,
    namespace: NamespaceOpt = "default",
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w")] = False,
) -> None:
    """List events (oldest first), optionally for one object; -w follows new ones."""
    info, name = (None, None)
    if for_:
        info, name = split_target(for_)
        if not name:
            raise InvalidError("--for: use KIND/NAME, e.g. --for sts/web")
    ns = None if all_namespaces else namespace
    with client() as c:
        items = _events(c, info, name, ns)
        if not items and not watch:
            echo_err(f"No events found in {'any namespace' if ns is None else ns + ' namespace'}.")
            return
        table = tables.rows_for("Event", items, wide=False, all_namespaces=ns is None)
        print(tables.render(table), flush=True)
        if watch:
            _follow(
                c,
                info,
                name,
                ns,
                {(e["metadata"].get("uid"), e["metadata"].get("resourceVersion")) for e in items},
            )


def _follow(
    c: Client, info: KindInfo | None, name: str | None, ns: str | None, seen: set[Any]
) -> None:
    try:
        for ev in c.stream("/v1/watch/Event", params={"namespace": ns}):
            obj = ev["object"]
            inv = obj.get("involvedObject") or {}
            if ev["type"] == "DELETED" or (info and inv.get("kind") != info.kind):
                continue
            if (name and inv.get("name") != name) or (
                (obj["metadata"].get("uid"), obj["metadata"].get("resourceVersion")) in seen
            ):
                continue
            row = tables.rows_for("Event", [obj], wide=False, all_namespaces=ns is None)[1]
            print("   ".join(row), flush=True)
    except KeyboardInterrupt:
        return
    raise UnavailableError("the watch ended: the daemon closed the stream (did it stop?)")


def register(app: typer.Typer) -> None:
    app.command()(describe)
    app.command()(events)

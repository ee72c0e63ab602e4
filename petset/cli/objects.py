"""apply, get and delete: the verbs over objects."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from petset.api.errors import InvalidError, NotFoundError, UnavailableError
from petset.api.kinds import KindInfo, resolve_kind
from petset.api.meta import Obj
from petset.cli import tables
from petset.cli.client import Client
from petset.cli.common import (
    NamespaceOpt,
    OutputOpt,
    as_list,
    client,
    echo_err,
    kind_label,
    label_of,
    split_target,
    to_json,
    to_yaml,
)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
OUTPUTS = ("wide", "yaml", "json", "name")
CASCADES = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
            "true": "Background", "false": "Orphan"}  # fmt: skip

FileOpt = Annotated[
    list[str] | None,
    typer.Option("--filename", "-f", help="File, directory or - (stdin); may repeat."),
]


def read_inputs(paths: list[str], *, recursive: bool = False) -> list[dict[str, str]]:
    """[{source, text}] for every file named; directories give their manifests in name order."""
    files: list[dict[str, str]] = []
    for p in paths:
        if p == "-":
            files.append({"source": "<stdin>", "text": sys.stdin.read()})
            continue
        path = Path(p)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(f for f in path.glob(pattern) if f.suffix in MANIFEST_SUFFIXES)
            if not found:
                raise InvalidError(f"{p}: no .yaml, .yml or .json files in this directory")
            files += [{"source": str(f), "text": _read(f)} for f in found]
        else:
            files.append({"source": p, "text": _read(path)})
    return files


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as err:
        raise InvalidError(f"{path}: cannot read: {err}") from None


def apply(
    filename: FileOpt = None,
    namespace: NamespaceOpt = "default",
    recursive: Annotated[bool, typer.Option("--recursive", "-R")] = False,
) -> None:
    """Create or update objects from YAML/JSON files; all of them or, on any error, none."""
    if not filename:
        raise InvalidError("apply: give the objects with -f FILE, -f DIR or -f -")
    files = read_inputs(filename, recursive=recursive)
    with client() as c:
        result = c.request("POST", "/v1/apply", body={"files": files, "namespace": namespace})
    for warning in result.get("warnings") or []:
        echo_err(f"Warning: {warning}")
    for r in result["results"]:
        print(f"{kind_label(resolve_kind(r['kind']))}/{r['name']} {r['action']}")


def _list(
    c: Client, info: KindInfo, name: str | None, ns: str | None, sel: str | None
) -> list[Obj]:
    if name:
        return [c.request("GET", f"/v1/objects/{info.kind}/{name}", params={"namespace": ns})]
    params = {"namespace": ns, "labelSelector": sel}
    items: list[Obj] = c.request("GET", f"/v1/objects/{info.kind}", params=params)["items"]
    return items


def _print(items: list[Obj], info: KindInfo, output: str | None, all_ns: bool) -> None:
    if output == "name":
        for o in items:
            print(label_of(o))
    elif output in ("json", "yaml"):
        value: Any = as_list(items)
        print(
            to_json(value) if output == "json" else to_yaml(value),
            end="\n" if output == "json" else "",
        )
    else:
        table = tables.rows_for(info.kind, items, wide=output == "wide", all_namespaces=all_ns)
        print(tables.render(table))


def _print_one(obj: Obj, output: str) -> None:
    if output == "name":
        print(label_of(obj), flush=True)
    elif output == "json":
        print(to_json(obj), flush=True)
    else:
        print("---\n" + to_yaml(obj), end="", flush=True)


def get(
    kind: Annotated[str, typer.Argument(help="Kind (sts, pods, svc, ...), KIND/NAME or k1,k2.")],
    name: Annotated[str | None, typer.Argument()] = None,
    namespace: NamespaceOpt = "default",
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    selector: Annotated[str | None, typer.Option("--selector", "-l")] = None,
    output: OutputOpt = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Print changes as they happen.")
    ] = False,
) -> None:
    """List objects, or show one."""
    if output not in (None, *OUTPUTS):
        raise InvalidError(f"--output {output!r}: must be one of {', '.join(OUTPUTS)}")
    if selector is not None:
        from petset.api.selectors import parse_label_selector

        parse_label_selector(selector)  # fail before any request, with the term named
    targets = [split_target(k, name) for k in kind.split(",")]
    ns = None if all_namespaces else namespace
    with client() as c:
        if watch:
            info, one = targets[0]
            _watch(c, info, one, ns, selector, output)
            return
        found = [(info, _list(c, info, n, ns, selector)) for info, n in targets]
    if len(targets) == 1 and targets[0][1] and output in ("json", "yaml"):
        obj = found[0][1][0]
        print(
            to_json(obj) if output == "json" else to_yaml(obj), end="\n" if output == "json" else ""
        )
        return
    if output in ("json", "yaml"):
        _print([o for _, items in found for o in items], found[0][0], output, False)
        return
    if not any(items for _, items in found):
        where = "any namespace" if all_namespaces else f"{namespace} namespace"
        echo_err(f"No resources found in {where}.")
        return
    blocks = [(info, items) for info, items in found if items]
    for i, (info, items) in enumerate(blocks):
        if i:
            print()
        _print(items, info, output, all_namespaces)


def _watch(
    c: Client, info: KindInfo, name: str | None, ns: str | None, sel: str | None, output: str | None
) -> None:
    """The table (or documents) now, then one line per change until interrupted."""
    items = [o for o in _list(c, info, None, ns, sel) if not name or o["metadata"]["name"] == name]
    seen = {(o["metadata"].get("uid"), o["metadata"].get("resourceVersion")) for o in items}
    table = tables.rows_for(info.kind, items, wide=output == "wide", all_namespaces=ns is None)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    if output in ("json", "yaml", "name"):
        for o in items:
            _print_one(o, output)
    else:
        print(tables.render(table), flush=True)
    params = {"namespace": ns, "labelSelector": sel}
    try:
        for ev in c.stream(f"/v1/watch/{info.kind}", params=params):
            obj = ev["object"]
            if name and obj["metadata"]["name"] != name:
                continue
            key = (obj["metadata"].get("uid"), obj["metadata"].get("resourceVersion"))
            if ev["type"] == "ADDED" and key in seen:
                continue
            if output in ("json", "yaml", "name"):
                _print_one(obj, output)
            else:
                row = tables.rows_for(
                    info.kind, [obj], wide=output == "wide", all_namespaces=ns is None
                )[1]
                cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
                print("   ".join(cells).rstrip(), flush=True)
    except KeyboardInterrupt:
        return
    raise UnavailableError("the watch ended: the daemon closed the stream (did it stop?)")


def delete(
    kind: Annotated[str | None, typer.Argument(help="Kind, or KIND/NAME.")] = None,
    names: Annotated[list[str] | None, typer.Argument()] = None,
    filename: FileOpt = None,
    namespace: NamespaceOpt = "default",
    cascade: Annotated[str, typer.Option(help="background, foreground or orphan.")] = "background",
) -> None:
    """Delete objects by name, or every object a file names."""
    propagation = CASCADES.get(cascade.lower())
    if propagation is None:
        raise InvalidError(f"--cascade {cascade!r}: must be background, foreground or orphan")
    with client() as c:
        if filename:
            if kind:
                raise InvalidError("delete: give either -f FILE or KIND NAME, not both")
            body = {
                "files": read_inputs(filename),
                "namespace": namespace,
                "propagation": propagation,
            }
            results = c.request("POST", "/v1/delete", body=body)["results"]
            failed = False
            for r in results:
                label = f'{kind_label(resolve_kind(r["kind"]))} "{r["name"]}"'
                if r["deleted"]:
                    print(f"{label} deleted")
                else:
                    failed = True
                    echo_err(f"error: {r.get('error')}")
            if failed:
                raise typer.Exit(1)
            return
        if not kind:
            raise InvalidError("delete: give KIND NAME, KIND/NAME or -f FILE")
        targets = _delete_targets(kind, names or [])
        for info, name in targets:
            params = {"namespace": namespace, "propagation": propagation}
            try:
                c.request("DELETE", f"/v1/objects/{info.kind}/{name}", params=params)
            except NotFoundError:
                raise NotFoundError(f'{kind_label(info)} "{name}" not found') from None
            print(f'{kind_label(info)} "{name}" deleted')


def _delete_targets(kind: str, names: list[str]) -> list[tuple[KindInfo, str]]:
    if "/" in kind:
        out = []
        for target in [kind, *names]:
            info, name = split_target(target)
            if not name:
                raise InvalidError(f"delete: {target!r}: use KIND/NAME for every object")
            out.append((info, name))
        return out
    if not names:
        raise InvalidError(f"delete {kind}: name the objects to delete")
    info = resolve_kind(kind)
    return [(info, n) for n in names]


def register(app: typer.Typer) -> None:
    app.command()(apply)
    app.command()(get)
    app.command()(delete)

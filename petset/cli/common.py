"""What every verb shares: settings, the client, kind names as kubectl prints them, output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from petset.api.errors import InvalidError
from petset.api.kinds import KindInfo, resolve_kind
from petset.api.meta import Obj
from petset.api.settings import Settings
from petset.cli.client import Client

NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the objects.")]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="wide, yaml, json or name.")]


@contextmanager
def client() -> Iterator[Client]:
    c = Client(Settings.from_env())
    try:
        yield c
    finally:
        c.close()


def kind_label(info: KindInfo) -> str:
    """`statefulset.apps`, `configmap`: how kubectl names a kind in its messages."""
    return f"{info.singular}.{info.group}" if info.group else info.singular


def label_of(obj: Obj) -> str:
    name = (obj.get("metadata") or {}).get("name")
    return f"{kind_label(resolve_kind(str(obj.get('kind'))))}/{name}"


def split_target(kind: str, name: str | None = None) -> tuple[KindInfo, str | None]:
    """`sts web`, `sts/web` or `statefulset.apps/web` -> (kind info, name)."""
    if "/" in kind:
        if name:
            raise InvalidError(f"there is no need to give a name after {kind!r}")
        kind, _, name = kind.partition("/")
        if not name:
            raise InvalidError(f"{kind + '/'!r}: a name is missing after the slash")
    return resolve_kind(kind), name


def require_name(kind: str, name: str | None, verb: str) -> tuple[KindInfo, str]:
    info, got = split_target(kind, name)
    if not got:
        raise InvalidError(f"{verb}: name the object, e.g. `petset {verb} {info.singular}/NAME`")
    return info, got


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2)


def to_yaml(value: Any) -> str:
    import yaml

    return str(yaml.safe_dump(value, sort_keys=False, default_flow_style=False))


def as_list(items: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}


def echo_err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

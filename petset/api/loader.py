"""Turn the text a user gives `petset apply -f` into documents, each knowing where it came from.

The CLI reads the file and passes the text; this module only parses. YAML is
read the way Kubernetes' sigs.k8s.io/yaml reads it where it matters: dates stay
strings, duplicate keys are errors, JSON is accepted, and `kind: List` expands
into its items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from petset.api.errors import InvalidError
from petset.api.meta import Obj

# Kubernetes' API server refuses requests over 3 MiB; a manifest file larger
# than that is almost certainly not what the user meant to apply.
MAX_INPUT_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """One object read from an input, with the place it came from."""

    source: str  # file path or "<stdin>"
    index: int  # 0-based position of the object in its file (List items count one each)
    obj: Obj
    line: int = 0  # 1-based line where the document starts (0 when unknown)

    def where(self) -> str:
        """`web.yaml#1 (StatefulSet/web)`: the prefix of every message about this document.

        The number is 1-based, as a person counts documents in a file.
        """
        kind = self.obj.get("kind") or "?"
        meta = self.obj.get("metadata")
        name = (meta.get("name") if isinstance(meta, dict) else None) or "?"
        return f"{self.source}#{self.index + 1} ({kind}/{name})"


# libyaml's parser is ~10x faster on large inputs; the pure-Python one gives the same results.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader without YAML 1.1 timestamps (Kubernetes keeps `2024-01-01` a string)
    and with duplicate mapping keys rejected (Go's YAML decoder rejects them too)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key (a list as key): let the base class report it
            break
        if duplicate:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {key!r} already defined above", mark
            )
        seen[key] = key_node
    return {_json_key(k): v for k, v in loader.construct_pairs(node, deep=True)}


def _json_key(key: Any) -> Any:
    """JSON object keys are strings: `on: x` or `80: x` become "true" and "80", as in Go."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_INDENTATION_SYMPTOMS = (
    "expected <block end>",
    "did not find expected key",
    "did not find expected '-' indicator",
    "mapping values are not allowed",
)


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number] if 0 <= number < len(lines) else ""


def _syntax_error(source: str, err: yaml.YAMLError, text: str) -> InvalidError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    context_mark = getattr(err, "context_mark", None)
    reason = str(problem)
    if context:
        if context_mark is not None and mark is not None and context_mark.line != mark.line:
            context = f"{context} that started at line {context_mark.line + 1}"
        reason = f"{context}: {problem}"
    if mark is not None and "\t" in _line(text, mark.line):
        reason += "; YAML indentation must use spaces, not tabs"
    elif any(s in reason for s in _INDENTATION_SYMPTOMS):
        reason += "; check the indentation on this line and the one above"
    if mark is not None:
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}"
    else:
        where = source
    return InvalidError(f"{source}: invalid YAML", [f"{where}: {reason}"])


def _raw_documents(text: str, source: str) -> list[tuple[Any, int]]:
    """(value, 1-based start line) for every document in the text."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        # JSON first: YAML rejects some valid JSON (tabs as indentation).
        try:
            return [(json.loads(text), text[: len(text) - len(stripped)].count("\n") + 1)]
        except json.JSONDecodeError:
            pass  # maybe YAML flow style: let the YAML parser decide and report
    out: list[tuple[Any, int]] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said there is one
            out.append((loader.construct_document(node), node.start_mark.line + 1))
    except yaml.YAMLError as err:
        raise _syntax_error(source, err, text) from None
    finally:
        loader.dispose()
    return out


def _expand_lists(source: str, raw: list[tuple[Any, int]]) -> list[tuple[Obj, int]]:
    objs: list[tuple[Obj, int]] = []
    for number, (value, line) in enumerate(raw, start=1):
        if value is None:
            continue  # an empty document (`---` twice, comments only)
        if not isinstance(value, dict):
            where = f"{source}#{number} (line {line})"
            raise InvalidError(
                f"{source}: invalid input",
                [
                    f"{where}: expected a mapping with apiVersion, kind and metadata, "
                    f"found {_describe(value)}"
                ],
            )
        if value.get("kind") == "List" and isinstance(value.get("items"), list):
            for i, item in enumerate(value["items"]):
                if not isinstance(item, dict):
                    where = f"{source}#{number} (line {line}): items[{i}]"
                    raise InvalidError(
                        f"{source}: invalid input",
                        [f"{where}: expected a mapping, found {_describe(item)}"],
                    )
                objs.append((item, line))
            continue
        objs.append((value, line))
    return objs


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"


def load_documents(text: str, source: str) -> list[Document]:
    """Parse multi-document YAML (or JSON) into documents.

    InvalidError's message names the source; for syntax errors its `problems`
    hold the details (line and column), as validation's problems do.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_INPUT_BYTES:
        mib = size / (1024 * 1024)
        msg = (
            f"{source}: {mib:.1f} MiB is over the 3 MiB limit (Kubernetes refuses requests over "
            "3 MiB); split the input into several files, and keep large data out of manifests"
        )
        raise InvalidError(msg)
    objs = _expand_lists(source, _raw_documents(text, source))
    if not objs:
        raise InvalidError(f"{source}: no objects found")
    return [Document(source, i, obj, line) for i, (obj, line) in enumerate(objs)]

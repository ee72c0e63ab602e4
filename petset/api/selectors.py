"""Label and field selectors, in Kubernetes' string and structured forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from petset.api.errors import InvalidError

_OPS = ("in", "notin", "exists", "doesnotexist", "=", "==", "!=")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.op == "Exists":
            return self.key in labels
        if self.op == "DoesNotExist":
            return self.key not in labels
        if self.op == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        raise AssertionError(self.op)


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: dict[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse_label_selector(text: str | None) -> Selector:
    """Parse `a=b,c!=d,e in (x,y),!f` as kubectl does; InvalidError names the bad term."""
    if not text or not text.strip():
        return Selector()
    reqs: list[Requirement] = []
    for term in _split_top(text):
        if not term.strip():
            raise InvalidError(
                f"label selector {text!r}: empty term; write key=value[,key2=value2]"
            )
        m = _EQ_RE.match(term)
        if m:
            key, op, value = m.groups()
            reqs.append(Requirement(key, "NotIn" if op == "!=" else "In", (value,)))
            continue
        m = _SET_RE.match(term)
        if m:
            neg, key, op, values = m.groups()
            if op:
                vals = tuple(v.strip() for v in values.split(",") if v.strip())
                reqs.append(Requirement(key, "In" if op == "in" else "NotIn", vals))
            else:
                reqs.append(Requirement(key, "DoesNotExist" if neg else "Exists"))
            continue
        raise InvalidError(
            f"label selector {text!r}: cannot parse {term.strip()!r}; "
            "use key=value, key!=value, key in (a,b), key notin (a,b), key or !key"
        )
    return Selector(tuple(reqs))


def selector_from_spec(spec: dict[str, Any] | None) -> Selector:
    """A structured LabelSelector (matchLabels + matchExpressions)."""
    if not spec:
        return Selector()
    reqs = [Requirement(k, "In", (str(v),)) for k, v in (spec.get("matchLabels") or {}).items()]
    for expr in spec.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], expr["operator"], tuple(expr.get("values") or ())))
    return Selector(tuple(reqs))


def selector_from_labels(labels: dict[str, str] | None) -> Selector:
    """A Service-style selector (a plain label map); empty matches nothing useful: callers check."""
    return Selector(tuple(Requirement(k, "In", (v,)) for k, v in (labels or {}).items()))


def parse_field_selector(text: str | None) -> list[tuple[str, bool, str]]:
    """`metadata.name=x,status.phase!=Running` -> [(path, equal, value)]."""
    if not text or not text.strip():
        return []
    out = []
    for term in text.split(","):
        m = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise InvalidError(f"field selector {text!r}: cannot parse {term!r}; use field=value")
        out.append((m.group(1), m.group(2) != "!=", m.group(3)))
    return out


def field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    return "" if cur is None else str(cur)


def matches_fields(obj: dict[str, Any], terms: list[tuple[str, bool, str]]) -> bool:
    return all((field_value(obj, p) == v) == eq for p, eq, v in terms)

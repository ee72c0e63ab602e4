"""spec.config parameters checked against MariaDB's own variable catalogue.

The api layer cannot ask a server, so it checks a snapshot of MariaDB 10.11's
information_schema.SYSTEM_VARIABLES shipped as package data (regenerated from
a real server by scripts/mariadb_system_variables.py). The controller checks
again against the live members before it applies anything. Options that are
not system variables can still be given with MariaDB's own `loose_` prefix
(ignored by a server that does not know them); petset passes them through.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

Value = str | int | float | bool

_SIZE = re.compile(r"^(-?\d+)([KMGTPE]?)$", re.IGNORECASE)
_FACTORS = {
    "": 1,
    "K": 1 << 10,
    "M": 1 << 20,
    "G": 1 << 30,
    "T": 1 << 40,
    "P": 1 << 50,
    "E": 1 << 60,
}
_TRUE = {"ON", "TRUE", "YES", "1"}
_FALSE = {"OFF", "FALSE", "NO", "0"}


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # information_schema VARIABLE_TYPE: INT, BIGINT UNSIGNED, BOOLEAN, ENUM, ...
    dynamic: bool  # READ_ONLY = NO: `SET GLOBAL` works, no restart needed
    min: int | float | None = None
    max: int | float | None = None
    values: tuple[str, ...] = ()  # ENUM_VALUE_LIST

    @property
    def numeric(self) -> bool:
        return self.type.split()[0] in ("INT", "BIGINT", "DOUBLE")


@dataclass(frozen=True)
class Catalogue:
    server: str
    variables: dict[str, Variable]

    def get(self, key: str) -> Variable | None:
        return self.variables.get(canonical(key))


def canonical(key: str) -> str:
    return key.replace("-", "_").lower()


def is_loose(key: str) -> bool:
    return canonical(key).startswith("loose_")


@cache
def catalogue() -> Catalogue:
    """The shipped MariaDB 10.11 snapshot (read once, like a module)."""
    text = (resources.files("petset.api") / "data" / "mariadb-system-variables.json").read_text()
    raw = json.loads(text)
    return Catalogue(
        server=str(raw["server"]),
        variables={
            name: Variable(
                name=name,
                type=str(v["type"]),
                dynamic=bool(v["dynamic"]),
                min=v.get("min"),
                max=v.get("max"),
                values=tuple(v.get("values") or ()),
            )
            for name, v in raw["variables"].items()
        },
    )


def to_number(value: Value) -> int | float | None:
    """A numeric parameter as MariaDB reads it from my.cnf (16M -> 16777216); None if not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    m = _SIZE.match(value.strip())
    if m:
        return int(m.group(1)) * _FACTORS[m.group(2).upper()]
    try:
        return float(value)
    except ValueError:
        return None


def value_problem(var: Variable, value: Value) -> str | None:
    """Why `value` does not fit `var` (None when it does)."""
    kind = var.type.split()[0]
    shown = json.dumps(value)
    if var.numeric:
        number = to_number(value)
        if number is None or (kind != "DOUBLE" and isinstance(number, float)):
            what = "a number" if kind == "DOUBLE" else "an integer (a K/M/G suffix is allowed)"
            return f"must be {what}, not {shown} ({var.type})"
        if var.min is not None and number < var.min:
            return f"{shown} is less than the minimum of {var.min}"
        if var.max is not None and number > var.max:
            return f"{shown} is more than the maximum of {var.max}"
        return None
    if kind == "BOOLEAN":
        if isinstance(value, bool) or str(value).upper() in _TRUE | _FALSE:
            return None
        return f"must be a boolean (ON or OFF), not {shown}"
    if kind in ("ENUM", "SET", "FLAGSET") and var.values:
        allowed = {v.upper() for v in var.values}
        parts = [str(value)] if kind == "ENUM" else str(value).split(",")
        bad = [p for p in parts if p.strip().upper() not in allowed and kind != "FLAGSET"]
        if kind == "FLAGSET":
            bad = [p for p in parts if p.split("=")[0].strip().upper() not in allowed | {"DEFAULT"}]
        if bad:
            return f"{shown} is not supported; use one of: {', '.join(var.values)}"
    return None


def problems(params: dict[str, Value], cat: Catalogue | None = None) -> list[str]:
    """'key: reason' for every parameter MariaDB would not accept."""
    cat = cat or catalogue()
    out: list[str] = []
    for key in sorted(params):
        if is_loose(key):
            continue
        var = cat.get(key)
        if var is None:
            close = difflib.get_close_matches(canonical(key), list(cat.variables), n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            out.append(
                f"{key}: not a MariaDB {cat.server.split('-')[0]} system variable{hint} "
                "(prefix an option that is not a variable with loose_)"
            )
            continue
        reason = value_problem(var, params[key])
        if reason:
            out.append(f"{key}: {reason}")
    return out


def split_static(
    params: dict[str, Value], cat: Catalogue | None = None
) -> tuple[dict[str, Value], dict[str, Value]]:
    """(dynamic, static): static ones need a restart; unknown and loose_ ones count as static."""
    cat = cat or catalogue()
    dynamic: dict[str, Value] = {}
    static: dict[str, Value] = {}
    for key, value in params.items():
        var = cat.get(key)
        (dynamic if var is not None and var.dynamic else static)[key] = value
    return dynamic, static


def sql_literal(var: Variable, value: Value) -> str:
    """The value for `SET GLOBAL name = ...`: numbers expanded (SET does not take 16M)."""
    if var.numeric:
        number = to_number(value)
        return repr(number) if number is not None else "DEFAULT"
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if var.type == "BOOLEAN":
        return "ON" if str(value).upper() in _TRUE else "OFF"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"

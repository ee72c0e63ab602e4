"""Kubernetes quantities (`1Gi`, `500m`) and durations (`90s`, `7d`) as numbers."""

from __future__ import annotations

import re
from decimal import Decimal

QUANTITY_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?\d+)?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}

DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION = re.compile(DURATION_PATTERN)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_quantity(text: str) -> Decimal:
    """`1Gi` -> 1073741824, `500m` -> 0.5; ValueError names the accepted forms."""
    match = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a quantity; write a number with an optional suffix "
            "such as 1Gi, 512Mi, 10G or 500m"
        )
    number, suffix = match.group(1), match.group(3) or ""
    sign = -1 if text.strip().startswith("-") else 1
    if suffix[:1] in ("e", "E"):
        return sign * Decimal(number) * (Decimal(10) ** int(suffix[1:]))
    return sign * Decimal(number) * _SUFFIX[suffix]


def parse_duration(text: str) -> float:
    """`90s`, `1h30m`, `7d`, `2w` -> seconds (Go's units plus days and weeks)."""
    if not isinstance(text, str) or not _DURATION.match(text.strip()):
        raise ValueError(
            f"{text!r} is not a duration; write e.g. 90s, 30m, 12h, 7d or 1h30m "
            "(units: ms, s, m, h, d, w)"
        )
    return sum(float(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(text.strip()))

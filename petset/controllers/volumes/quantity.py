"""Kubernetes resource quantities (`1Gi`, `500M`, `250m`, `1e3`) as exact numbers.

Storage sizes are compared as integers of bytes (rounded up, as Kubernetes'
`Quantity.Value()` does); CPU-like values keep their fraction for the downward API.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


class QuantityError(ValueError):
    """Text that is not a Kubernetes quantity; the message says what one looks like."""


def parse_quantity(text: object) -> Decimal:
    """The exact value of a quantity such as `1Gi`, `1.5G`, `100m` or `1e3`."""
    raw = str(text).strip()
    m = _QUANTITY.match(raw)
    if m is None:
        raise QuantityError(
            f"{raw!r} is not a quantity; write a number with an optional suffix "
            "such as 1Gi, 500Mi, 2G or 100m"
        )
    number, suffix = m.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise QuantityError(f"{raw!r}: {number!r} is not a number") from None
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return value * (Decimal(10) ** int(suffix[1:]))
    return value * _DECIMAL[suffix]


def storage_bytes(text: object) -> int:
    """A storage quantity in whole bytes, rounded up like `Quantity.Value()`."""
    return math.ceil(parse_quantity(text))


def format_bytes(value: int) -> str:
    """The shortest exact binary form (`2Gi`, `1536Mi`), or plain bytes."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if value and value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)

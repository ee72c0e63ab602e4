"""MariaDB GTID positions (`domain-server-seq` per replication domain) and their order.

A position is a set of per-domain last sequence numbers. Position A *contains*
B when, for every domain of B, A has reached at least B's sequence number: then
every transaction B has seen, A has seen too (MariaDB GTIDs in one domain are
applied in order, and petset runs one writer domain).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gtid:
    domain: int
    server: int
    seq: int

    def __str__(self) -> str:
        return f"{self.domain}-{self.server}-{self.seq}"


@dataclass(frozen=True)
class GtidPosition:
    gtids: tuple[Gtid, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> GtidPosition:
        if not text or not text.strip():
            return cls()
        out: dict[int, Gtid] = {}
        for part in text.replace("\n", "").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                d, s, q = (int(x) for x in part.split("-"))
            except ValueError:
                raise ValueError(f"not a GTID: {part!r} (want domain-server-seq)") from None
            if d not in out or out[d].seq < q:
                out[d] = Gtid(d, s, q)
        return cls(tuple(sorted(out.values(), key=lambda g: g.domain)))

    def seq(self, domain: int) -> int:
        for g in self.gtids:
            if g.domain == domain:
                return g.seq
        return 0

    def contains(self, other: GtidPosition) -> bool:
        return all(self.seq(g.domain) >= g.seq for g in other.gtids)

    def behind(self, other: GtidPosition) -> int:
        """How many transactions `other` has that this position has not (summed over domains)."""
        return sum(max(0, g.seq - self.seq(g.domain)) for g in other.gtids)

    @property
    def empty(self) -> bool:
        return not self.gtids

    def __str__(self) -> str:
        return ",".join(str(g) for g in self.gtids)


def most_advanced(positions: dict[str, GtidPosition]) -> tuple[str | None, bool]:
    """The member whose position contains every other's, and whether it is unique.

    Returns (None, False) when no member contains all the others (diverged
    histories): a failover must not guess then.
    """
    best: str | None = None
    for name in sorted(positions):
        pos = positions[name]
        if all(pos.contains(other) for other in positions.values()):
            best = name
            break
    if best is None:
        return None, False
    ties = [n for n, p in positions.items() if n != best and p.contains(positions[best])]
    return best, not ties

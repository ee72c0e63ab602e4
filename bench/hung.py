"""Benchmark 3: failover of a hung primary (SIGSTOP of its mariadbd); see bench/failover.py."""

from __future__ import annotations

import signal

from bench.failover import measure
from bench.harness import Report


def run(*, quick: bool = False) -> Report:
    return measure("hung", signal.SIGSTOP, 2 if quick else 5, [("max", "<= 8 s", 8.0)])

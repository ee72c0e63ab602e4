"""A Jepsen-style history: every write through the rw Service, recorded with its outcome.

`Writer` inserts rows with unique ids, one at a time, and records each
operation as ok (the server acknowledged the commit), failed (it certainly did
not happen: no connection) or unknown (sent, but no answer: it may have
committed). `PrimaryMonitor` polls every member's read_only and records the
moments when more than one member accepts writes. `check` compares a history
with what the cluster holds afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pymysql

from bench.mysqlkit import Endpoint

TABLE = "bench.history"


@dataclass(frozen=True)
class Op:
    id: int
    start: float  # monotonic
    end: float
    outcome: str  # "ok" | "failed" | "unknown"
    error: str = ""


def _connect(ep: Endpoint, timeout: float) -> Any:
    return pymysql.connect(
        host=ep.host,
        port=ep.port,
        user=ep.user,
        password=ep.password,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        autocommit=True,
    )


def prepare(ep: Endpoint) -> None:
    conn = _connect(ep, 5)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS bench")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY, at DOUBLE)")
    finally:
        conn.close()


@dataclass
class Writer:
    """One client writing through `ep` until stopped; `ops` is its history."""

    ep: Endpoint
    interval: float = 0.01
    timeout: float = 2.0
    first_id: int = 1
    ops: list[Op] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._loop, name="writer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Op]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout * 3 + 5)
        return self.ops

    def _loop(self) -> None:
        conn: Any = None
        next_id = self.first_id
        while not self._stop.is_set():
            start = time.monotonic()
            sent = False
            try:
                if conn is None:
                    conn = _connect(self.ep, self.timeout)
                with conn.cursor() as cur:
                    sent = True
                    cur.execute(f"INSERT INTO {TABLE} VALUES (%s, %s)", (next_id, time.time()))
                self.ops.append(Op(next_id, start, time.monotonic(), "ok"))
            except pymysql.MySQLError as err:
                outcome = _outcome(err, sent)
                self.ops.append(Op(next_id, start, time.monotonic(), outcome, str(err)[:120]))
                with contextlib.suppress(Exception):
                    if conn is not None:
                        conn.close()
                conn = None
                time.sleep(0.02)
            next_id += 1
            time.sleep(self.interval)
        with contextlib.suppress(Exception):
            if conn is not None:
                conn.close()


def _outcome(err: pymysql.MySQLError, sent: bool) -> str:
    """failed when the statement certainly did not commit; unknown when it may have."""
    if not sent:
        return "failed"
    code = err.args[0] if err.args and isinstance(err.args[0], int) else 0
    # Server-side refusals (read-only 1290, duplicate 1062, access 1142/1045...) did not commit.
    if isinstance(err, pymysql.err.OperationalError) and code in (2003, 2013, 2006, 0):
        return "unknown"
    if isinstance(err, (pymysql.err.InterfaceError,)):
        return "unknown"
    return "failed"


def acked(ops: list[Op]) -> list[Op]:
    return [o for o in ops if o.outcome == "ok"]


def unavailability(ops: list[Op], fault_at: float, until: float) -> float | None:
    """RTO: the longest gap between consecutive acknowledged writes around the fault.

    Not simply "first ack after `fault_at`": a write acknowledged just before the
    kill can be recorded a few ms after it. The window starts 2 s before the
    fault (the writer acknowledges many writes a second) and ends at `until`,
    once writes flow again; None when writes never resumed in it.
    """
    ends = sorted(o.end for o in acked(ops) if fault_at - 2 <= o.end <= until)
    if not any(e > fault_at for e in ends) or len(ends) < 2:
        return None
    return max(b - a for a, b in itertools.pairwise(ends))


def longest_gap(ops: list[Op], since: float, until: float) -> float:
    """The longest stretch without an acknowledged write in [since, until]."""
    ends = [since, *sorted(o.end for o in acked(ops) if since < o.end < until), until]
    return max(b - a for a, b in itertools.pairwise(ends))


@dataclass
class Verdict:
    acknowledged: int
    lost: list[int]
    unknown: int
    unknown_committed: int
    failed: int
    failed_but_present: list[int]  # a "failed" write found: the history is wrong

    @property
    def ok(self) -> bool:
        return not self.lost and not self.failed_but_present

    def summary(self) -> str:
        return (
            f"{self.acknowledged} acknowledged, {len(self.lost)} lost, {self.unknown} unknown "
            f"({self.unknown_committed} committed), {self.failed} failed"
        )


def read_ids(ep: Endpoint, timeout: float = 5) -> tuple[set[int], str, bool]:
    """The history table's ids, and which server answered (hostname, writable)."""
    conn = _connect(ep, timeout)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname, @@global.read_only")
            host, read_only = cur.fetchone()
            cur.execute(f"SELECT id FROM {TABLE}")
            return {int(r[0]) for r in cur.fetchall()}, str(host), int(read_only) == 0
    finally:
        conn.close()


def check(ops: list[Op], present: set[int]) -> Verdict:
    return Verdict(
        acknowledged=len(acked(ops)),
        lost=sorted(o.id for o in ops if o.outcome == "ok" and o.id not in present),
        unknown=sum(1 for o in ops if o.outcome == "unknown"),
        unknown_committed=sum(1 for o in ops if o.outcome == "unknown" and o.id in present),
        failed=sum(1 for o in ops if o.outcome == "failed"),
        failed_but_present=sorted(
            o.id for o in ops if o.outcome == "failed" and o.id in present and "1290" not in o.error
        ),
    )


@dataclass
class PrimaryMonitor:
    """Polls read_only on every member; records moments with more than one writable member.

    One thread per member keeps its connection open (a new connection per poll
    is too slow on a loaded machine to catch a short overlap); a sample counts
    for `fresh` seconds.
    """

    endpoints: Callable[[], list[Endpoint]]
    every: float = 0.1
    fresh: float = 0.5
    split_brain: list[tuple[float, list[str]]] = field(default_factory=list)
    samples: int = 0
    _state: dict[str, tuple[bool, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> PrimaryMonitor:
        for ep in self.endpoints():
            t = threading.Thread(target=self._poll, args=(ep,), name=f"ro-{ep.host}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._judge, name="monitor", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> list[tuple[float, list[str]]]:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        return self.split_brain

    def _poll(self, ep: Endpoint) -> None:
        conn: Any = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = _connect(ep, 0.5)
                with conn.cursor() as cur:
                    cur.execute("SELECT @@global.read_only")
                    row = cur.fetchone()
                self._state[ep.host] = (row is not None and int(row[0]) == 0, time.monotonic())
                self.samples += 1
            except pymysql.MySQLError:
                # No answer: no longer known to be writable. Its last "writable"
                # sample must not stay fresh past its death (a killed primary
                # then overlapped, on paper, with a successor promoted 0.3 s later).
                self._state[ep.host] = (False, time.monotonic())
                with contextlib.suppress(Exception):
                    if conn is not None:
                        conn.close()
                conn = None
            time.sleep(self.every)
        with contextlib.suppress(Exception):
            if conn is not None:
                conn.close()

    def _judge(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            writable = [h for h, (w, t) in list(self._state.items()) if w and now - t < self.fresh]
            if len(writable) > 1:
                self.split_brain.append((now, sorted(writable)))
            time.sleep(self.every)

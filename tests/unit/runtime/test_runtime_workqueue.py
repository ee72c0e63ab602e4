"""WorkQueue: de-duplication, one worker per key, backoff, delayed adds."""

from __future__ import annotations

import threading
import time

from petset.runtime.workqueue import WorkQueue


def test_a_key_queued_twice_is_processed_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert [q.get(0), q.get(0), q.get(0)] == ["a", "b", None]


def test_key_added_while_processing_comes_back_after_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")
    q.add("a")
    assert q.get(0) is None  # not handed to a second worker while processing
    q.done("a")
    assert q.get(0) == "a"
    q.done("a")
    assert q.get(0) is None


def test_no_key_is_processed_concurrently() -> None:
    q: WorkQueue[int] = WorkQueue()
    active: set[int] = set()
    overlaps = []
    processed = []
    lock = threading.Lock()

    def worker() -> None:
        while (key := q.get()) is not None:
            with lock:
                if key in active:
                    overlaps.append(key)
                active.add(key)
            time.sleep(0.001)
            with lock:
                active.discard(key)
                processed.append(key)
            q.done(key)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(300):
        q.add(i % 3)
        if i % 50 == 0:
            time.sleep(0.002)
    deadline = time.monotonic() + 5
    while not q.is_idle() and time.monotonic() < deadline:
        time.sleep(0.005)
    q.shutdown()
    for t in threads:
        t.join(2)
    assert not overlaps
    assert set(processed) == {0, 1, 2}
    assert len(processed) < 300  # duplicates were collapsed


def test_rate_limited_backoff_grows_and_forget_resets_it() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=0.005, max_delay=0.04)
    delays = [q.add_rate_limited("k") for _ in range(6)]
    assert delays == [0.005, 0.01, 0.02, 0.04, 0.04, 0.04]
    assert q.num_requeues("k") == 6
    q.forget("k")
    assert q.num_requeues("k") == 0
    assert q.add_rate_limited("k") == 0.005


def test_add_after_waits_and_earliest_wins() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("late", 10)
    q.add_after("soon", 0.05)
    q.add_after("soon", 5)  # a later duplicate does not postpone it
    start = time.monotonic()
    assert q.get(1) == "soon"
    assert 0.04 <= time.monotonic() - start < 0.5
    assert q.get(0.02) is None
    assert q.is_idle(horizon=1.0) is False  # "soon" is processing
    q.done("soon")
    assert q.is_idle(horizon=1.0) and not q.is_idle(horizon=20)


def test_shutdown_wakes_waiting_getters() -> None:
    q: WorkQueue[str] = WorkQueue()
    got: list[str | None] = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    time.sleep(0.02)
    q.shutdown()
    t.join(1)
    assert got == [None]
    q.add("x")
    assert len(q) == 0

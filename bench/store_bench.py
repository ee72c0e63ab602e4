"""Micro-benchmark of the store: durable writes per second and watch latency.

    .venv/bin/python bench/store_bench.py [--writes 500] [--dir /tmp]

Not a test: numbers depend on the disk (every commit is fsynced).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from petset.store import Store


def bench_writes(store: Store, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        store.create({"kind": "ConfigMap", "metadata": {"name": f"w{i}"}, "data": {"i": str(i)}})
    return n / (time.perf_counter() - start)


def bench_apply(store: Store, n: int, batch: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        objs = [
            {"kind": "ConfigMap", "metadata": {"name": f"a{i}-{j}"}, "data": {"i": str(i)}}
            for j in range(batch)
        ]
        store.apply_many(objs)
    return n * batch / (time.perf_counter() - start)


def bench_watch_latency(store: Store, n: int) -> list[float]:
    """Time from the start of a write to the watcher holding its event."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def watcher(rv: str) -> None:
        for ev in store.watch("Secret", resource_version=rv, timeout=30):
            latencies.append(time.perf_counter() - sent[ev.object["metadata"]["name"]])
            if len(latencies) == n:
                done.set()
                return

    t = threading.Thread(target=watcher, args=(store.resource_version(),))
    t.start()
    for i in range(n):
        name = f"s{i}"
        sent[name] = time.perf_counter()
        store.create({"kind": "Secret", "metadata": {"name": name}})
        time.sleep(0.002)
    done.wait(30)
    t.join(5)
    return latencies


def bench_reads_while_writing(store: Store, n: int) -> list[float]:
    """Seconds per list of 100 Pods while another thread commits (each commit is
    fsynced): reads use their own connections and must not queue behind it."""
    for i in range(100):
        pod = {"kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"app": "web"}}}
        store.create(pod | {"spec": {"containers": [{"name": "c", "image": "x"}]}})
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            store.create({"kind": "ConfigMap", "metadata": {"name": f"r{i}"}})
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    out = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            store.list_json("Pod", "default")
            out.append(time.perf_counter() - start)
    finally:
        stop.set()
        t.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--dir", default=None, help="directory for the database (default: tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        store = Store(Path(tmp) / "bench.db")
        print(f"create, one object per transaction: {bench_writes(store, args.writes):8.0f} /s")
        rate = bench_apply(store, max(1, args.writes // 10), 10)
        print(f"apply_many, 10 objects per transaction: {rate:8.0f} objects/s")
        lat = sorted(bench_watch_latency(store, 200))
        p50 = statistics.median(lat) * 1000
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000
        print(f"watch latency (write start -> event): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        reads = sorted(bench_reads_while_writing(store, 300))
        p50 = statistics.median(reads) * 1000
        p99 = reads[int(len(reads) * 0.99) - 1] * 1000
        print(f"list of 100 pods during writes: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        store.close()


if __name__ == "__main__":
    main()

"""Watch: replay from a version, follow live, Gone after compaction."""

from __future__ import annotations

import threading
import time

import pytest

from petset.api.errors import GoneError
from petset.api.meta import Obj
from petset.store import Store


def cm(name: str, **data: str) -> Obj:
    return {"kind": "ConfigMap", "metadata": {"name": name, "labels": {"n": name}}, "data": data}


def test_watch_from_none_lists_then_follows() -> None:
    store = Store(":memory:")
    store.create(cm("b"))
    store.create(cm("a"))
    store.create({"kind": "Secret", "metadata": {"name": "s"}})
    seen: list[tuple[str, str]] = []

    def consume() -> None:
        for ev in store.watch("ConfigMap", timeout=2.0):
            seen.append((ev.type, ev.object["metadata"]["name"]))
            if ev.type == "DELETED":
                return

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.05)
    store.create(cm("c"))
    store.patch("ConfigMap", "a", "default", {"data": {"x": "1"}})
    store.delete("ConfigMap", "b", "default")
    t.join(3)
    assert seen == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("ADDED", "c"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]


def test_watch_from_a_version_replays_only_later_changes() -> None:
    store = Store(":memory:")
    store.create(cm("a"))
    mark = store.resource_version()
    store.create(cm("b"))
    store.delete("ConfigMap", "a", "default")
    events = list(store.watch("ConfigMap", resource_version=mark, timeout=0.05))
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]
    assert events[-1].resource_version == store.resource_version()
    assert events[-1].object["metadata"]["resourceVersion"] == events[-1].resource_version


def test_watch_filters_namespace_and_labels() -> None:
    store = Store(":memory:")
    mark = store.resource_version()
    store.create(cm("a"))
    store.create(cm("b"))
    other = cm("a")
    other["metadata"]["namespace"] = "prod"
    store.create(other)
    names = [
        (e.object["metadata"]["namespace"], e.object["metadata"]["name"])
        for e in store.watch("ConfigMap", "default", resource_version=mark, timeout=0.05)
    ]
    assert names == [("default", "a"), ("default", "b")]
    labelled = store.watch("ConfigMap", resource_version=mark, label_selector="n=a", timeout=0.05)
    assert [e.object["metadata"]["namespace"] for e in labelled] == ["default", "prod"]


def test_watch_from_a_compacted_version_is_gone() -> None:
    store = Store(":memory:", max_changes=5)
    store.create(cm("a"))
    old = store.resource_version()
    for i in range(20):
        store.patch("ConfigMap", "a", "default", {"data": {"i": str(i)}})
    store.compact()
    assert store.change_count() == 5
    with pytest.raises(GoneError):
        list(store.watch("ConfigMap", resource_version=old, timeout=0.05))
    recent = str(int(store.resource_version()) - 3)
    assert len(list(store.watch("ConfigMap", resource_version=recent, timeout=0.05))) == 3


def test_live_watcher_is_not_gone_because_of_other_kinds() -> None:
    store = Store(":memory:", max_changes=5)
    events = store.watch("Secret", timeout=0.5)
    store.create({"kind": "Secret", "metadata": {"name": "s"}})
    assert next(events).type == "ADDED"
    for i in range(30):
        store.create(cm(f"c{i}"))
    store.compact()
    store.patch("Secret", "s", "default", {"data": {"k": "dg=="}})
    assert next(events).type == "MODIFIED"


def test_idle_watch_sleeps_instead_of_polling() -> None:
    store = Store(":memory:")
    started = time.process_time()
    assert list(store.watch("Pod", resource_version=store.resource_version(), timeout=0.3)) == []
    assert time.process_time() - started < 0.05


def test_close_ends_watches() -> None:
    store = Store(":memory:")
    events = store.watch("Pod", timeout=5)
    ended = threading.Event()

    def consume() -> None:
        for _ in events:
            pass
        ended.set()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.02)
    store.close()
    assert ended.wait(1)
    assert list(store.watch("Pod")) == []


def test_interrupt_ends_open_watches_and_not_later_ones() -> None:
    store = Store(":memory:")
    rv = store.create(cm("a"))["metadata"]["resourceVersion"]
    ended = threading.Event()

    def consume() -> None:
        for _ in store.watch("ConfigMap", resource_version=rv, timeout=60.0):
            pass
        ended.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    time.sleep(0.1)
    assert not ended.is_set()
    store.interrupt_watches()
    assert ended.wait(2.0)
    # A watch opened after the interrupt follows as usual.
    later = store.watch("ConfigMap", resource_version=rv, timeout=2.0)
    store.create(cm("b"))
    assert next(later).object["metadata"]["name"] == "b"

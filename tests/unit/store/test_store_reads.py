"""Reads outside the writer's lock, objects as stored JSON, per-kind wake-ups."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from petset.api.errors import InvalidError
from petset.api.meta import Obj
from petset.store import Store


def cm(name: str, tier: str, namespace: str = "default") -> Obj:
    md = {"name": name, "namespace": namespace, "labels": {"tier": tier}}
    return {"kind": "ConfigMap", "metadata": md, "data": {"k": name}}


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.db" if request.param == "file" else ":memory:")
    yield s
    s.close()


def test_reads_do_not_wait_for_a_writer_holding_the_lock(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    store.create(cm("a", "web"))
    got: list[object] = []
    with store._lock:  # what a commit waiting for its fsync holds
        reader = threading.Thread(
            target=lambda: got.extend([store.get("ConfigMap", "a", "default"), store.list("Pod")])
        )
        reader.start()
        reader.join(2)
        assert not reader.is_alive()
    assert got[0]["data"] == {"k": "a"}  # type: ignore[index]
    store.close()
    with pytest.raises(InvalidError):
        store.get("ConfigMap", "a", "default")


def test_a_read_sees_the_write_that_returned_before_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    for i in range(20):
        store.create(cm(f"c{i}", "web"))
        assert store.get("ConfigMap", f"c{i}", "default")["metadata"]["name"] == f"c{i}"
        assert len(store.list("ConfigMap")) == i + 1
    store.close()


def test_list_json_is_list_as_stored_text_with_its_newest_version(store: Store) -> None:
    store.create(cm("b", "db"))
    store.create(cm("a", "web"))
    store.create(cm("a", "db", namespace="prod"))
    store.patch("ConfigMap", "b", "default", {"data": {"k": "changed"}})
    for kwargs in ({}, {"label_selector": "tier=db"}, {"field_selector": "metadata.name=a"}):
        for ns in (None, "default"):
            texts, rv = store.list_json("ConfigMap", ns, **kwargs)  # type: ignore[arg-type]
            objs = store.list("ConfigMap", ns, **kwargs)  # type: ignore[arg-type]
            assert [json.loads(t) for t in texts] == objs
            newest = max((int(o["metadata"]["resourceVersion"]) for o in objs), default=0)
            assert rv == newest
    assert store.list_json("Pod") == ([], 0)


def test_watch_json_batches_the_changes_watch_yields(store: Store) -> None:
    store.create(cm("a", "web"))
    mark = store.resource_version()
    store.create(cm("b", "db"))
    store.patch("ConfigMap", "a", "default", {"data": {"k": "x"}})
    store.create({"kind": "Secret", "metadata": {"name": "s"}})
    store.delete("ConfigMap", "b", "default")
    for selector in (None, "tier=db"):
        events = list(
            store.watch("ConfigMap", resource_version=mark, label_selector=selector, timeout=0.05)
        )
        batches = list(
            store.watch_json(
                "ConfigMap", resource_version=mark, label_selector=selector, timeout=0.05
            )
        )
        assert all(batches)
        raw = [c for batch in batches for c in batch]
        assert [(c.type, str(c.resource_version), json.loads(c.data)) for c in raw] == [
            (e.type, e.resource_version, e.object) for e in events
        ]
    initial = [c for b in store.watch_json("ConfigMap", timeout=0.05) for c in b]
    assert [(c.type, json.loads(c.data)["metadata"]["name"]) for c in initial] == [("ADDED", "a")]


def test_a_watcher_gets_its_kind_at_once_after_other_kinds_writes(store: Store) -> None:
    """Wake-ups are per kind: other kinds' commits must not leave it asleep on its own."""
    seen: list[float] = []
    woke = threading.Event()

    def consume() -> None:
        for ev in store.watch("Secret", resource_version=store.resource_version(), timeout=3):
            assert ev.object["metadata"]["name"] == "s"
            seen.append(time.monotonic())
            woke.set()
            return

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.05)
    for i in range(50):
        store.create(cm(f"c{i}", "web"))
    assert not woke.is_set()
    sent = time.monotonic()
    store.create({"kind": "Secret", "metadata": {"name": "s"}})
    assert woke.wait(2)
    assert seen[0] - sent < 0.5
    t.join(2)


def test_list_json_answers_every_write_of_its_kind_that_returned(store: Store) -> None:
    """The remembered answer of a list is only reused while its kind is unchanged."""

    def names_and_data() -> list[tuple[str, object]]:
        texts, _ = store.list_json("ConfigMap", "default")
        return [(o["metadata"]["name"], o["data"]) for o in map(json.loads, texts)]

    store.create(cm("a", "web"))
    assert names_and_data() == [("a", {"k": "a"})]
    store.create({"kind": "Secret", "metadata": {"name": "s"}})  # another kind: reused
    assert names_and_data() == [("a", {"k": "a"})]
    store.patch("ConfigMap", "a", "default", {"data": {"k": "new"}})
    assert names_and_data() == [("a", {"k": "new"})]
    store.create(cm("b", "db"))
    texts, rv = store.list_json("ConfigMap", "default")
    assert rv == int(store.resource_version())
    texts.clear()  # a caller's copy: the next answer is whole
    assert [n for n, _ in names_and_data()] == ["a", "b"]
    store.delete("ConfigMap", "a", "default")
    assert [n for n, _ in names_and_data()] == ["b"]
    assert store.list_json("ConfigMap", "default", label_selector="tier=web") == ([], 0)

"""The local object store: Kubernetes-shaped objects in SQLite.

One write connection guarded by one lock: SQLite serialises writers anyway
and the daemon's write rate is small. Every public write is one transaction
(BEGIN IMMEDIATE .. COMMIT) that changes the objects table and appends to the
changes log. Reads (get, list, a watcher reading the log) use a small pool of
read-only connections and never take that lock, so they do not wait for a
commit's fsync (WAL). Watchers are woken in-process per kind (`feed`), never
by polling.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from petset.api.errors import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    InvalidError,
)
from petset.api.kinds import is_namespaced
from petset.api.merge import merge_patch
from petset.api.meta import Obj, ObjectKey, labels_of
from petset.api.selectors import (
    parse_field_selector,
    parse_label_selector,
)
from petset.store import apply as applying
from petset.store import events as ev
from petset.store import objects as rules
from petset.store.feed import Feed, RawChange, StoreEventType
from petset.store.readers import ReaderPool, found, load_object, object_rows, selected
from petset.store.schema import (
    compaction_cutoff,
    connect,
    drop_changes,
    last_resource_version,
    read_meta_prefix,
)

_BATCH = 500
# Distinct list queries whose answer is kept (the API's `get` and `get -w` ask
# the same few again and again; a 100-pod answer is ~200 kB).
_LIST_CACHE_SIZE = 16


@dataclass(frozen=True)
class StoreEvent:
    type: StoreEventType
    object: Obj
    resource_version: str


class Store:
    """Thread-safe; a write is durable (fsynced) when the call returns."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_changes: int = 10_000,
        max_change_age: float = 3600.0,
        event_ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = connect(path)
        # An in-memory database exists only on its own connection: reads share it.
        self._readers = None if str(path) == ":memory:" else ReaderPool(path)
        self._lock = threading.RLock()
        self._feed = Feed(self._lock)
        _ListKey = tuple[str, str | None, str | None, str | None]
        self._list_cache: dict[_ListKey, tuple[int, tuple[str, ...], int]] = {}
        self._clock = clock
        self._max_changes = max_changes
        self._max_change_age = max_change_age
        self._event_ttl = event_ttl
        self._closed = False
        # Bumped by interrupt_watches: a watch opened before the bump ends.
        self._watch_epoch = 0
        self._rv = last_resource_version(self._conn)
        # Per kind, the newest change dropped from the log: a watch of that kind
        # from an older version would miss it (Gone); other kinds do not matter.
        self._compacted: dict[str, int] = {
            k.removeprefix("compacted:"): v for k, v in read_meta_prefix(self._conn, "compacted:")
        }
        self._writes_since_compaction = 0
        self._last_compaction = clock()
        self._event_index: dict[str, ObjectKey] = {}
        for _, data in object_rows(self._conn, "Event", None):
            obj = json.loads(data)
            self._event_index[ev.dedup_key(obj)] = ObjectKey.of(obj)
        self.compact()

    # -- plumbing ---------------------------------------------------------------
    @contextmanager
    def _txn(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise InvalidError("the store is closed")
            start = self._rv
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._rv = start
                self._feed.rolled_back()
                raise
            if self._rv != start:
                self._feed.committed(self._rv)
                self._writes_since_compaction += self._rv - start
        self._maybe_compact()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for one read of committed state, without the writer's lock."""
        if self._readers is not None:
            with self._readers.connection() as conn:
                yield conn
            return
        with self._lock:
            if self._closed:
                raise InvalidError("the store is closed")
            yield self._conn

    def _load(self, key: ObjectKey) -> Obj | None:
        return load_object(self._conn, key)

    def _must_load(self, key: ObjectKey) -> Obj:
        return found(key, self._load(key))

    def _write(self, type_: StoreEventType, obj: Obj) -> Obj:
        """Record one change: a new resourceVersion, the row, the log entry."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = ObjectKey.of(obj)
        self._feed.touched(key.kind)
        data = json.dumps(obj, separators=(",", ":"))
        now = self._clock()
        if type_ == "DELETED":
            self._conn.execute(
                "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                (key.kind, key.namespace, key.name),
            )
        else:
            self._conn.execute(
                "INSERT OR REPLACE INTO objects (kind, namespace, name, uid, rv, updated, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key.kind, key.namespace, key.name, obj["metadata"]["uid"], self._rv, now, data),
            )
        self._conn.execute(
            "INSERT INTO changes (rv, type, kind, namespace, ts, data) VALUES (?, ?, ?, ?, ?, ?)",
            (self._rv, type_, key.kind, key.namespace, now, data),
        )
        return obj

    def _transition(self, current: Obj, new: Obj) -> Obj:
        """Store `new` in place of `current`: nothing when equal, removal when the
        last finalizer of a deleting object went."""
        if new == current:
            return current
        if rules.is_gone(new):
            return self._write("DELETED", new)
        return self._write("MODIFIED", new)

    def resource_version(self) -> str:
        """The newest resourceVersion handed out (what a list is consistent with)."""
        with self._lock:
            return str(self._rv)

    def interrupt_watches(self) -> None:
        """End every open watch now, as if its timeout had passed: watchers can
        then wait minutes for changes and still stop at once (they re-watch from
        their last version if they are not stopping)."""
        with self._lock:
            self._watch_epoch += 1
            self._feed.wake_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._feed.wake_all()
            self._conn.close()
        if self._readers is not None:
            self._readers.close()

    # -- reads ------------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: str = "") -> Obj:
        key = rules.key_of(kind, name, namespace)
        with self._reading() as conn:
            return found(key, load_object(conn, key))

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[Obj]:
        """Objects of `kind` sorted by namespace and name; namespace None: all."""
        sel = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        with self._reading() as conn:
            rows = object_rows(conn, kind, namespace)
        out = []
        for _, data in rows:
            obj = json.loads(data)
            if selected(obj, sel, fields):
                out.append(obj)
        return out

    def list_json(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[builtins.list[str], int]:
        """What `list` returns, each object as its stored JSON text, and the newest
        resourceVersion among them: the API sends objects as stored instead of
        parsing and serialising each one again (most of a list's cost). Answered
        from memory while nothing of `kind` was committed since the last time."""
        key = (kind, namespace, label_selector, field_selector)
        version = self._feed.version(kind)  # read before the query: never newer than it
        hit = self._cached_list(key, version)
        if hit is not None:
            return hit
        sel = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        with self._reading() as conn:
            rows = object_rows(conn, kind, namespace)
        if not sel.empty or fields:
            rows = [(rv, data) for rv, data in rows if selected(json.loads(data), sel, fields)]
        texts, rv = [data for _, data in rows], max((rv for rv, _ in rows), default=0)
        if version is not None:
            if len(self._list_cache) >= _LIST_CACHE_SIZE and key not in self._list_cache:
                self._list_cache.clear()
            self._list_cache[key] = (version, tuple(texts), rv)
        return texts, rv

    def cached_list_json(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[builtins.list[str], int] | None:
        """`list_json`'s answer when it is in memory and current, else None; never
        blocks (the API answers from it on its event loop, without a thread hop)."""
        key = (kind, namespace, label_selector, field_selector)
        return self._cached_list(key, self._feed.version(kind))

    def _cached_list(
        self, key: tuple[str, str | None, str | None, str | None], version: int | None
    ) -> tuple[builtins.list[str], int] | None:
        cached = self._list_cache.get(key)
        if cached is None or version is None or cached[0] != version:
            return None
        return builtins.list(cached[1]), cached[2]

    # -- writes -----------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        with self._txn():
            return self._create(rules.prepare_create(obj, now=self._clock()))

    def _create(self, obj: Obj) -> Obj:
        key = ObjectKey.of(obj)
        if self._load(key) is not None:
            raise AlreadyExistsError(f"{key.kind} {key.name!r} already exists")
        return self._write("ADDED", obj)

    def update(self, obj: Obj) -> Obj:
        """Replace everything but status; generation bumps when spec changes."""
        key = self._key_of(obj)
        with self._txn():
            current = self._must_load(key)
            return self._transition(current, rules.prepare_update(current, obj))

    def update_status(self, obj: Obj) -> Obj:
        key = self._key_of(obj)
        with self._txn():
            current = self._must_load(key)
            return self._transition(current, rules.prepare_status_update(current, obj))

    def patch(self, kind: str, name: str, namespace: str, patch: Obj) -> Obj:
        """RFC 7386 merge patch of the object, status included, in one write."""
        key = rules.key_of(kind, name, namespace)
        with self._txn():
            current = self._must_load(key)
            patched = merge_patch(current, patch)
            new = rules.prepare_update(current, patched)
            if "status" in patch:
                if patched.get("status") is None:
                    new.pop("status", None)
                else:
                    new["status"] = patched["status"]
            return self._transition(current, new)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        propagation: rules.Propagation = "Background",
        uid: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> None:
        """Delete now, or mark deleting when finalizers (or the policy's) remain.
        Dependents are the garbage collector's business, as in Kubernetes."""
        key = rules.key_of(kind, name, namespace)
        with self._txn():
            current = self._must_load(key)
            if uid and current["metadata"].get("uid") != uid:
                raise ConflictError(
                    f"{kind} {name!r}: precondition failed: uid {uid} was asked for, the "
                    f"stored object has uid {current['metadata'].get('uid')} (it was recreated)"
                )
            new = rules.prepare_delete(
                current, propagation, now=self._clock(), grace_period_seconds=grace_period_seconds
            )
            if new is None:
                self._write("DELETED", current)
            else:
                self._transition(current, new)

    def apply_many(
        self,
        objs: builtins.list[Obj],
        *,
        manager: str = "petset",
        defaults: applying.Defaults | None = None,
    ) -> builtins.list[applying.ApplyResult]:
        """kubectl apply of every object in ONE transaction: all are written or none.

        `manager` names who applied (kubectl's field manager); it is kept in no
        field yet because petset has no server-side apply ownership to track.
        """
        del manager
        with self._txn():
            return [self._apply_one(obj, defaults) for obj in objs]

    def _apply_one(self, obj: Obj, defaults: applying.Defaults | None) -> applying.ApplyResult:
        obj = rules.normalize_identity(obj)
        if not obj["metadata"].get("name"):
            raise InvalidError(f"{obj['kind']}: metadata.name: required by apply")
        cfg = applying.applied_config(obj)
        live = self._load(ObjectKey.of(obj))
        if live is None:
            new = rules.prepare_create(applying.object_to_create(cfg, defaults), now=self._clock())
            return applying.ApplyResult(self._create(new), "created")
        rules.check_resource_version(live, obj)
        merged = applying.merged_update(live, cfg, defaults)
        if merged is None:
            return applying.ApplyResult(live, "unchanged")
        stored = self._transition(live, rules.prepare_update(live, merged))
        same = stored["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
        return applying.ApplyResult(stored, "unchanged" if same else "configured")

    @staticmethod
    def _key_of(obj: Obj) -> ObjectKey:
        md = obj.get("metadata") or {}
        if not obj.get("kind") or not md.get("name"):
            raise InvalidError("object needs kind and metadata.name")
        return rules.key_of(str(obj["kind"]), str(md["name"]), md.get("namespace"))

    # -- events -----------------------------------------------------------------
    def record_event(
        self,
        involved: Obj,
        *,
        type: Literal["Normal", "Warning"],
        reason: str,
        message: str,
        source: str = "petset",
    ) -> Obj:
        """Post an Event, or bump count/lastTimestamp of the same one seen within
        ten minutes (Kubernetes' EventCorrelator)."""
        with self._txn():
            now = self._clock()
            candidate = ev.new_event(
                involved,
                type=type,
                reason=reason,
                message=message,
                source=source,
                timestamp=rules.iso(now),
            )
            dedup = ev.dedup_key(candidate)
            known = self._event_index.get(dedup)
            current = self._load(known) if known else None
            bumped = ev.bumped(current, candidate, now) if current else None
            if bumped is not None:
                return self._write("MODIFIED", bumped)
            stored = self._create(rules.prepare_create(candidate, now=now))
            self._event_index[dedup] = ObjectKey.of(stored)
            return stored

    # -- watch ------------------------------------------------------------------
    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[StoreEvent]:
        """Changes after `resource_version` (None/"0": every current object as
        ADDED first), following live until `timeout`; GoneError when compacted."""
        sel = parse_label_selector(label_selector)
        for batch in self._follow(kind, namespace, resource_version, timeout):
            for change in batch:
                obj = json.loads(change.data)
                if sel.matches(labels_of(obj)):
                    rv = str(change.resource_version)
                    yield StoreEvent(change.type, obj, rv)

    def watch_json(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[builtins.list[RawChange]]:
        """The changes `watch` yields, in non-empty batches, objects as stored JSON
        text: the API streams them without a parse and a dump per watcher."""
        sel = parse_label_selector(label_selector)
        for batch in self._follow(kind, namespace, resource_version, timeout):
            if not sel.empty:
                batch = [c for c in batch if sel.matches(labels_of(json.loads(c.data)))]
            if batch:
                yield batch

    def _follow(
        self, kind: str, namespace: str | None, resource_version: str | None, timeout: float | None
    ) -> Iterator[builtins.list[RawChange]]:
        if not is_namespaced(kind):
            namespace = None
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            epoch = self._watch_epoch
            if resource_version in (None, "", "0"):
                rows = object_rows(self._conn, kind, namespace)
                initial = [RawChange("ADDED", rv, data) for rv, data in rows]
                pos = self._rv
            else:
                initial = []
                pos = _parse_rv(resource_version)
                self._check_not_compacted(kind, pos)
        if initial:
            yield initial
        while True:
            top = self._wait_for_changes(kind, pos, deadline, epoch)
            if top is None:
                return
            batch, pos = self._changes_after(kind, namespace, pos, top)
            if batch:
                yield batch
            if deadline is not None and time.monotonic() >= deadline:
                return

    def _wait_for_changes(
        self, kind: str, pos: int, deadline: float | None, epoch: int
    ) -> int | None:
        """The version to read `kind`'s changes up to, once some may follow `pos`;
        None when the store closed, watches were interrupted or `deadline` passed first."""
        with self._lock:
            while True:
                if self._closed or self._watch_epoch != epoch:
                    return None
                self._check_not_compacted(kind, pos)
                if self._feed.newest(kind, self._rv) > pos:
                    return self._rv
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._feed.wait(kind, left)

    def _check_not_compacted(self, kind: str, pos: int) -> None:
        dropped = self._compacted.get(kind, 0)
        if pos < dropped:
            raise GoneError(
                f"resourceVersion {pos} is too old: {kind} changes up to {dropped} were "
                "compacted; list again and watch from the list's version"
            )

    def _changes_after(
        self, kind: str, namespace: str | None, pos: int, top: int
    ) -> tuple[builtins.list[RawChange], int]:
        """`kind`'s changes in (pos, top] (committed: `top` came from under the lock
        between transactions), read without the lock; and the version to go on from."""
        sql = "SELECT rv, type, data FROM changes WHERE kind = ? AND rv > ? AND rv <= ?"
        args: builtins.list[object] = [kind, pos, top]
        if namespace is not None:
            sql += " AND namespace = ?"
            args.append(namespace)
        with self._reading() as conn:
            rows = conn.execute(sql + f" ORDER BY rv LIMIT {_BATCH}", args).fetchall()
        # A compaction that committed before the read may have dropped some of
        # them: it records that before its commit, so this check sees it.
        self._check_not_compacted(kind, pos)
        batch = [RawChange(t, int(rv), d) for rv, t, d in rows]
        # Not cut short: everything of this kind up to `top` has been seen.
        return batch, (int(rows[-1][0]) if len(rows) == _BATCH else top)

    # -- compaction ---------------------------------------------------------------
    def _maybe_compact(self) -> None:
        due = self._clock() - self._last_compaction >= 60.0
        if self._writes_since_compaction >= 1000 or due:
            self.compact()

    def compact(self) -> None:
        """Drop log entries beyond the last `max_changes` or older than
        `max_change_age`, and Events not updated for `event_ttl`."""
        with self._lock:
            self._writes_since_compaction = 0
            self._last_compaction = now = self._clock()
            with self._txn():
                expired = self._conn.execute(
                    "SELECT data FROM objects WHERE kind = 'Event' AND updated < ?",
                    (now - self._event_ttl,),
                ).fetchall()
                for (data,) in expired:
                    self._write("DELETED", json.loads(data))
                oldest = now - self._max_change_age
                cutoff = compaction_cutoff(self._conn, self._rv - self._max_changes, oldest)
                self._compacted.update(drop_changes(self._conn, cutoff))
            self._writes_since_compaction = 0

    def change_count(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM changes").fetchone()
            return int(row[0])


def _parse_rv(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidError(f"resourceVersion {text!r} is not a number") from None


__all__ = ["RawChange", "Store", "StoreEvent"]

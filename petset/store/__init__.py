"""The local object store (SQLite, WAL): objects, resourceVersions, watch, Events."""

from petset.store.apply import LAST_APPLIED, ApplyResult
from petset.store.feed import RawChange
from petset.store.store import Store, StoreEvent

__all__ = ["LAST_APPLIED", "ApplyResult", "RawChange", "Store", "StoreEvent"]

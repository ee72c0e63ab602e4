"""Where backups and archived binlogs live: the `BackupStore` contract and a
local directory implementation.

Keys are plain strings chosen by callers, `<namespace>/<backup-name>` for a
backup and `<namespace>/<cluster>` for a cluster's binlog archive; a store
never interprets them beyond mapping them to its own layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

Progress = Callable[[int], None]
CHUNK = 1 << 20


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str


@dataclass(frozen=True)
class Segment:
    """One archived binlog file: `session` groups the files archived from one
    primary in one go (sessions sort in archive order), `name` is the server's
    own file name (sorts in binlog order within a session)."""

    session: str
    name: str
    size: int


class BackupStore(ABC):
    """The contract every backup store honours (a local directory here; an
    S3-compatible bucket can implement the same methods with objects and
    multipart uploads).

    * `put` consumes the whole stream, computes its sha256 and size on the way,
      and makes the data visible under `key` only when the stream ended
      cleanly: a reader never sees a partial backup. A failed or interrupted
      put leaves nothing under `key` (a retry simply puts again).
    * `put_metadata` stores a JSON document beside the data; `keys` returns the
      keys that have metadata (a backup is listed only once it is described).
    * `delete` removes data and metadata; deleting a missing key is not an error.
    * `open` raises FileNotFoundError for a missing key.
    * Binlog segments: `put_segment` replaces a segment (an open binlog grows
      and is put again), `segments` lists a cluster's archive in replay order.
    """

    @abstractmethod
    def put(self, key: str, stream: Iterable[bytes], *, progress: Progress | None = None) -> Stored:
        """Store the stream's bytes as the backup data of `key`."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    @abstractmethod
    def put_metadata(self, key: str, doc: dict[str, Any]) -> None: ...

    @abstractmethod
    def get_metadata(self, key: str) -> dict[str, Any]:
        """FileNotFoundError when the backup has no metadata."""

    @abstractmethod
    def keys(self, prefix: str = "") -> list[str]: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def put_segment(self, archive: str, session: str, name: str, stream: Iterable[bytes]) -> int:
        """Store (or replace) one binlog file; returns its size."""

    @abstractmethod
    def segments(self, archive: str) -> list[Segment]: ...

    @abstractmethod
    def open_segment(self, archive: str, session: str, name: str) -> BinaryIO: ...


def read_chunks(f: BinaryIO, size: int = CHUNK) -> Iterable[bytes]:
    while chunk := f.read(size):
        yield chunk


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ValueError(f"bad store key {key!r}")


class LocalDirectoryStore(BackupStore):
    """Layout: `<root>/<namespace>/<name>/backup.xbstream` and `metadata.json`;
    binlogs under `<root>/<namespace>/_binlogs/<cluster>/<session>/<file>`
    (`_` cannot start an object name, so it never collides with a backup)."""

    DATA = "backup.xbstream"
    META = "metadata.json"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def data_path(self, key: str) -> Path:
        return self._dir(key) / self.DATA

    def put(self, key: str, stream: Iterable[bytes], *, progress: Progress | None = None) -> Stored:
        d = self._dir(key)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{self.DATA}.partial"
        digest, size = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as f:
                for chunk in stream:
                    f.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(size)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(d / self.DATA)
        finally:
            tmp.unlink(missing_ok=True)
        return Stored(size, digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return open(self.data_path(key), "rb")

    def put_metadata(self, key: str, doc: dict[str, Any]) -> None:
        d = self._dir(key)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{self.META}.partial"
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
        tmp.replace(d / self.META)

    def get_metadata(self, key: str) -> dict[str, Any]:
        doc = json.loads((self._dir(key) / self.META).read_text())
        if not isinstance(doc, dict):
            raise ValueError(f"{key}: metadata is not an object")
        return doc

    def keys(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = [str(p.parent.relative_to(self.root)) for p in self.root.glob(f"*/*/{self.META}")]
        return sorted(k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        shutil.rmtree(self._dir(key), ignore_errors=True)

    def _archive(self, archive: str) -> Path:
        _check_key(archive)
        ns, _, cluster = archive.partition("/")
        return self.root / ns / "_binlogs" / cluster

    def put_segment(self, archive: str, session: str, name: str, stream: Iterable[bytes]) -> int:
        _check_key(f"{session}/{name}")
        d = self._archive(archive) / session
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{name}.partial"
        size = 0
        with open(tmp, "wb") as f:
            for chunk in stream:
                f.write(chunk)
                size += len(chunk)
        tmp.replace(d / name)
        return size

    def segments(self, archive: str) -> list[Segment]:
        base = self._archive(archive)
        if not base.is_dir():
            return []
        out = [
            Segment(p.parent.name, p.name, p.stat().st_size)
            for p in base.glob("*/*")
            if not p.name.startswith(".")
        ]
        return sorted(out, key=lambda s: (s.session, s.name))

    def open_segment(self, archive: str, session: str, name: str) -> BinaryIO:
        _check_key(f"{session}/{name}")
        return open(self._archive(archive) / session / name, "rb")


def open_store(location: str) -> BackupStore:
    """A store from its location as pods and the daemon name it: a directory
    path today (`s3://bucket/prefix` would select an S3 store)."""
    if "://" in location and not location.startswith("file://"):
        raise ValueError(f"unsupported backup store {location!r}: only directories are")
    return LocalDirectoryStore(Path(location.removeprefix("file://")))

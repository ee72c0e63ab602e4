"""The atomic writer on real files: layout, swaps, and readers during updates."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from petset.node.volumes import AtomicWriter, FileProjection
from petset.node.volumes.atomic import PayloadError

pytestmark = pytest.mark.acceptance


def _payload(**files: str) -> dict[str, FileProjection]:
    return {k.replace("__", "/"): FileProjection(v.encode(), 0o644) for k, v in files.items()}


def test_layout_is_the_kubelets(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert AtomicWriter(target).write(_payload(a="one", conf__b="two"))
    data = target / "..data"
    assert data.is_symlink()
    version = os.readlink(data)
    assert version.startswith("..") and (target / version).is_dir()
    assert os.readlink(target / "a") == "..data/a"
    assert os.readlink(target / "conf") == "..data/conf"
    assert (target / "a").read_text() == "one"
    assert (target / "conf" / "b").read_text() == "two"
    assert sorted(e for e in os.listdir(target) if not e.startswith("..")) == ["a", "conf"]


def test_update_swaps_content_and_drops_removed_keys(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    writer = AtomicWriter(target)
    writer.write(_payload(a="one", b="two"))
    first = os.readlink(target / "..data")
    assert not writer.write(_payload(a="one", b="two")), "same content must not write"
    assert os.readlink(target / "..data") == first
    assert writer.write(_payload(a="uno", c="tres"))
    assert (target / "a").read_text() == "uno"
    assert (target / "c").read_text() == "tres"
    assert not (target / "b").exists() and not (target / "b").is_symlink()
    writer.write(_payload(a="eins"))
    versions = [e for e in os.listdir(target) if e.startswith("..2")]
    assert len(versions) <= 2, "old versions are cleaned up (the previous one is kept)"


def test_paths_may_not_escape(tmp_path: Path) -> None:
    for bad in ("../x", "/etc/passwd", "..data", "a/../../b"):
        with pytest.raises(PayloadError):
            AtomicWriter(tmp_path / "vol").write(
                _payload(**{"ok": "1"}) | {bad: FileProjection(b"", 0o644)}
            )


def test_readers_never_see_a_half_written_state(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    writer = AtomicWriter(target)
    size = 64 * 1024
    writer.write(_payload(a="0" * size, b="0" * size))
    stop = threading.Event()
    seen: list[str] = []
    problems: list[str] = []

    def reader() -> None:
        try:
            read_until_stopped()
        except OSError as err:
            problems.append(f"reader failed: {err!r}")

    def read_until_stopped() -> None:
        while not stop.is_set():
            a = (target / "a").read_text()
            # Both files of one version, read through one resolved ..data.
            version = target / os.readlink(target / "..data")
            try:
                pair = ((version / "a").read_text(), (version / "b").read_text())
            except FileNotFoundError:
                continue  # that version was replaced twice meanwhile; read again
            if len(a) != size or len(set(a)) != 1:
                problems.append(f"torn file: {len(a)} bytes, {sorted(set(a))}")
            if pair[0] != pair[1]:
                problems.append("files of one version differ")
            seen.append(a[0])

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(1, 30):
        ch = str(i % 10)
        writer.write(_payload(a=ch * size, b=ch * size))
    stop.set()
    for t in threads:
        t.join()
    assert not problems, problems[:5]
    assert len(set(seen)) > 1, "readers saw the updates"

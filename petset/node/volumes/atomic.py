"""The kubelet's atomic writer: a directory whose files change all at once.

Layout (pkg/volume/util/atomic_writer.go):

    <dir>/..2026_11_27_13_00_00.123456/   the files of one version
    <dir>/..data -> ..2026_11_27_13_00_00.123456
    <dir>/<key>  -> ..data/<key>           one per top-level entry of the payload

An update writes a new version directory, points `..data_tmp` at it and renames
that over `..data` (rename(2) is atomic), so a reader opening `<dir>/<key>`
sees the old files or the new ones, never a mix. The version just replaced is
kept until the next update so that a reader that resolved `..data` a moment
before the swap can still open its files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

DATA_DIR = "..data"
DATA_TMP = "..data_tmp"


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int


class PayloadError(ValueError):
    """A path in a payload that would escape the volume or clash with the writer's own names."""


def validate_path(path: str) -> str:
    """A payload path: relative, no `..` component, not starting with `..` (reserved)."""
    if not path or path.startswith("/"):
        raise PayloadError(f"{path!r}: must be a relative path")
    parts = PurePosixPath(path).parts
    if ".." in parts:
        raise PayloadError(f"{path!r}: must not contain '..'")
    if path.startswith(".."):
        raise PayloadError(f"{path!r}: must not start with '..'")
    return str(PurePosixPath(path))


class AtomicWriter:
    def __init__(self, target_dir: Path) -> None:
        self.target_dir = target_dir

    def write(self, payload: dict[str, FileProjection]) -> bool:
        """Make the directory show exactly `payload`; False when it already did (no write)."""
        clean = {validate_path(p): f for p, f in payload.items()}
        self.target_dir.mkdir(parents=True, exist_ok=True)
        current = self._current_version()
        if current is not None and _same_content(current, clean):
            self._link_user_paths(clean)
            return False
        version = self._write_version(clean)
        tmp = self.target_dir / DATA_TMP
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(version.name, tmp)
        os.rename(tmp, self.target_dir / DATA_DIR)
        self._link_user_paths(clean)
        self._remove_old_versions(keep={version.name, current.name if current else ""})
        return True

    def _current_version(self) -> Path | None:
        link = self.target_dir / DATA_DIR
        if not link.is_symlink():
            return None
        found = self.target_dir / os.readlink(link)
        return found if found.is_dir() else None

    def _write_version(self, payload: dict[str, FileProjection]) -> Path:
        stamp = datetime.now(UTC).strftime("%Y_%m_%d_%H_%M_%S")
        version = Path(tempfile.mkdtemp(prefix=f"..{stamp}.", dir=self.target_dir))
        version.chmod(0o755)
        for rel, proj in payload.items():
            path = version / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, proj.mode)
            try:
                # No fsync: the content is re-rendered from the store after a crash.
                os.write(fd, proj.data)
            finally:
                os.close(fd)
            os.chmod(path, proj.mode)  # the umask may have narrowed it
        return version

    def _link_user_paths(self, payload: dict[str, FileProjection]) -> None:
        """`key -> ..data/key` for each top-level entry; stale ones go."""
        wanted = {PurePosixPath(p).parts[0] for p in payload}
        for entry in os.listdir(self.target_dir):
            if entry.startswith(".."):
                continue
            path = self.target_dir / entry
            if entry not in wanted and path.is_symlink():
                path.unlink()
        for name in wanted:
            link = self.target_dir / name
            target = f"{DATA_DIR}/{name}"
            if link.is_symlink() and os.readlink(link) == target:
                continue
            tmp = self.target_dir / f"..{name}.tmp"
            if tmp.is_symlink():
                tmp.unlink()
            os.symlink(target, tmp)
            os.rename(tmp, link)

    def _remove_old_versions(self, keep: set[str]) -> None:
        for entry in os.listdir(self.target_dir):
            if entry in keep or entry in (DATA_DIR, DATA_TMP) or not entry.startswith(".."):
                continue
            path = self.target_dir / entry
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def _same_content(version: Path, payload: dict[str, FileProjection]) -> bool:
    found: dict[str, tuple[bytes, int]] = {}
    for root, _dirs, files in os.walk(version):
        for name in files:
            path = Path(root) / name
            rel = str(path.relative_to(version))
            found[rel] = (path.read_bytes(), path.stat().st_mode & 0o7777)
    return found == {rel: (p.data, p.mode) for rel, p in payload.items()}

"""Container logs: one file per container instance, written by the sandbox itself.

The sandbox appends (O_APPEND) to `<restartCount>.log`, so the daemon can
rotate by copy-and-truncate without the process noticing, and logs keep being
written while the daemon is down. The previous instance's file is kept for
`logs --previous`; older ones are removed.

Timestamps come from a parallel index (`.idx`: "<size> <unix time>" lines)
that the pod worker appends whenever the file has grown, so a line's time is
when the node first saw it (within one worker pass, ~0.5 s; lines written
while the daemon was down get the time it came back).
"""

from __future__ import annotations

import bisect
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

ROTATE_BYTES = 10 * 1024 * 1024


def instance_log(log_dir: Path, restart_count: int) -> Path:
    return log_dir / f"{restart_count}.log"


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def prune(log_dir: Path, restart_count: int) -> None:
    """Keep the current and the previous instance's logs only."""
    if not log_dir.is_dir():
        return
    keep = (f"{restart_count}.log", f"{restart_count - 1}.log")
    for path in log_dir.iterdir():
        if not path.name.startswith(keep):
            path.unlink(missing_ok=True)


def mark(path: Path, seen: int, *, limit: int = ROTATE_BYTES, now: float | None = None) -> int:
    """Rotate when large, and index the bytes written since `seen`; returns the new size."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size >= limit:
        shutil.copyfile(path, _side(path, ".1"))
        os.truncate(path, 0)
        idx = _side(path, ".idx")
        if idx.exists():
            os.replace(idx, _side(path, ".1.idx"))
        _append_mark(_side(path, ".1"), size, now)
        return 0
    if size > seen:
        _append_mark(path, size, now)
    return size


def _append_mark(path: Path, size: int, now: float | None) -> None:
    with open(_side(path, ".idx"), "a") as f:
        f.write(f"{size} {time.time() if now is None else now:.6f}\n")


def _marks(path: Path) -> tuple[list[int], list[float]]:
    sizes: list[int] = []
    times: list[float] = []
    try:
        text = _side(path, ".idx").read_text()
    except FileNotFoundError:
        return sizes, times
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            sizes.append(int(parts[0]))
            times.append(float(parts[1]))
    return sizes, times


def rfc3339(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


def _format(data: bytes, offset: int, marks: tuple[list[int], list[float]] | None) -> list[str]:
    """Lines of `data` (which starts at byte `offset` of its file), with their times
    from the index when `marks` is given."""
    out: list[str] = []
    for raw in data.splitlines(keepends=True):
        text = raw.decode("utf-8", "replace")
        if marks is not None:
            sizes, times = marks
            i = bisect.bisect_right(sizes, offset)
            ts = times[i] if i < len(times) else time.time()
            text = f"{rfc3339(ts)} {text}"
        out.append(text)
        offset += len(raw)
    return out


def _lines(path: Path, *, timestamps: bool) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return _format(data, 0, _marks(path) if timestamps else None)


def read(path: Path, *, tail: int | None = None, timestamps: bool = False) -> str:
    """The instance's log (rotated part first); `tail` keeps the last lines only."""
    lines = _lines(_side(path, ".1"), timestamps=timestamps) + _lines(path, timestamps=timestamps)
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return "".join(lines)


def follow(
    path: Path,
    running: Callable[[], bool],
    *,
    tail: int | None = None,
    timestamps: bool = False,
    poll: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """Yield the log's lines so far, then new complete lines until the instance stops."""
    yield from read(path, tail=tail, timestamps=timestamps).splitlines(keepends=True)
    try:
        offset = path.stat().st_size
    except FileNotFoundError:
        offset = 0
    while not stop():
        alive = running()
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < offset:  # rotated: the file was truncated
            offset = 0
        if size > offset:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read(size - offset)
            complete = chunk.rfind(b"\n") + 1 if alive else len(chunk)
            if complete:
                yield from _format(chunk[:complete], offset, _marks(path) if timestamps else None)
                offset += complete
                continue
        if not alive:
            return
        time.sleep(poll)

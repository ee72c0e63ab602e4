"""The sandbox's filesystem as bwrap arguments.

bwrap 0.8 has no overlays, and binding at a mountPath that does not exist on
the host either creates it on the host (root bound writable) or fails (root
bound read-only). So the sandbox root is bwrap's own tmpfs: the host's
top-level entries are bound read-only one by one, and each directory on the
way to a missing mountPath becomes a `--dir` whose host children are bound
individually; the mountPath itself is then created inside the tmpfs only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

# Top-level paths the sandbox gets fresh (bwrap --proc/--dev/--tmpfs), never the host's.
FRESH = {
    "/proc": ["--proc", "/proc"],
    "/dev": ["--dev", "/dev"],
    "/tmp": ["--tmpfs", "/tmp"],
    "/run": ["--tmpfs", "/run"],
}


@dataclass(frozen=True)
class Mount:
    source: str  # host path (directory or file); for a symlink, the path it points to
    target: str  # absolute path inside the sandbox
    read_only: bool = False
    # A symlink at `target` instead of a bind: a file the node replaces atomically
    # (rename) stays current in the sandbox, where a bound file would keep its inode.
    symlink: bool = False


@dataclass(frozen=True)
class HostView:
    """How the plan looks at the host filesystem (a fake in unit tests)."""

    listdir: Callable[[str], list[str]]
    is_dir: Callable[[str], bool]  # follows symlinks
    is_link: Callable[[str], bool]
    exists: Callable[[str], bool]  # without following the last symlink
    readlink: Callable[[str], str]


def real_host() -> HostView:
    def listdir(p: str) -> list[str]:
        try:
            return sorted(os.listdir(p))
        except OSError:
            return []

    return HostView(listdir, os.path.isdir, os.path.islink, os.path.lexists, os.readlink)


def _ancestors(target: str) -> list[str]:
    parts = PurePosixPath(target).parts
    return [str(PurePosixPath(*parts[:i])) for i in range(1, len(parts))]


def _under_fresh(target: str) -> bool:
    return any(target == f or target.startswith(f + "/") for f in FRESH)


def _fits(m: Mount, host: HostView) -> bool:
    """A bind can go straight over the host's own path: it exists with the same
    type and no symlink lies on the way to it."""
    if not host.exists(m.target) or host.is_link(m.target):
        return False
    if any(host.is_link(a) for a in _ancestors(m.target)[1:]):
        return False
    return host.is_dir(m.target) == host.is_dir(m.source)


def runtime_mounts(paths: list[str]) -> list[Mount]:
    """petset's own interpreter and code, read-only at the same path, when they
    live under a path the sandbox gets fresh (a checkout under /tmp): pods run
    petset's member commands with the daemon's interpreter."""
    return [Mount(p, p, read_only=True) for p in sorted(set(paths)) if _under_fresh(p)]


def filesystem_args(mounts: list[Mount], host: HostView | None = None) -> list[str]:
    """bwrap arguments for the whole filesystem: host read-only, fresh /proc /dev
    /tmp /run, then every mount (parents before children)."""
    host = host or real_host()
    expand: set[str] = {"/"}
    hidden: set[str] = set()
    for m in mounts:
        if _under_fresh(m.target) or (not m.symlink and _fits(m, host)):
            continue
        expand.update(_ancestors(m.target))
        hidden.add(m.target)
    args: list[str] = []
    _emit("/", expand, hidden, host, args)
    for spec in FRESH.values():
        args += spec
    for m in sorted(mounts, key=lambda m: len(PurePosixPath(m.target).parts)):
        if m.symlink:
            args += ["--symlink", m.source, m.target]
        else:
            args += ["--ro-bind" if m.read_only else "--bind", m.source, m.target]
    return args


def _emit(
    directory: str, expand: set[str], hidden: set[str], host: HostView, args: list[str]
) -> None:
    for name in host.listdir(directory):
        path = str(PurePosixPath(directory) / name)
        if path in hidden or path in FRESH:
            continue
        if path in expand and host.is_dir(path):
            # A symlinked directory on the way becomes a real one with the target's entries.
            args += ["--dir", path]
            _emit(path, expand, hidden, host, args)
        elif host.is_link(path):
            args += ["--symlink", host.readlink(path), path]
        else:
            args += ["--ro-bind-try", path, path]

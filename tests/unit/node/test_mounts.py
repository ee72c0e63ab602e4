"""The bwrap filesystem plan: host read-only, missing mountPaths created in the sandbox only."""

from __future__ import annotations

from pathlib import PurePosixPath

from petset.node.mounts import HostView, Mount, filesystem_args

# A tiny host: dirs end with "/", symlinks are "name -> target".
TREE = {
    "/": ["bin -> usr/bin", "etc/", "proc/", "tmp/", "usr/", "var/"],
    "/etc": ["hosts", "mysql/"],
    "/etc/mysql": ["my.cnf"],
    "/usr": ["bin/"],
    "/usr/bin": [],
    "/var": ["lib/", "log/", "run -> /run"],
    "/var/lib": ["dpkg/", "mysql/"],
    "/var/lib/dpkg": [],
    "/var/lib/mysql": [],
    "/var/log": [],
    "/proc": [],
    "/tmp": [],
    "/data": [],
}
DIRS = {p for p in TREE} | {"/src", "/bin"}
FILES = {"/etc/hosts", "/etc/mysql/my.cnf", "/srcfile"}
LINKS = {"/bin": "usr/bin", "/var/run": "/run"}


def _host() -> HostView:
    def listdir(p: str) -> list[str]:
        return [e.split(" ")[0].rstrip("/") for e in TREE.get(p, [])]

    return HostView(
        listdir=listdir,
        is_dir=lambda p: p in DIRS,
        is_link=lambda p: p in LINKS,
        exists=lambda p: p in DIRS or p in FILES or p in LINKS,
        readlink=lambda p: LINKS[p],
    )


def triples(args: list[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    i = 0
    while i < len(args):
        op = args[i]
        n = 2 if op in ("--dir", "--proc", "--dev", "--tmpfs") else 3
        out.append(tuple(args[i : i + n]))
        i += n
    return out


def test_no_mounts_binds_top_level_read_only() -> None:
    ops = triples(filesystem_args([], _host()))
    assert ("--symlink", "usr/bin", "/bin") in ops
    assert ("--ro-bind-try", "/etc", "/etc") in ops
    assert ("--ro-bind-try", "/var", "/var") in ops
    assert ("--proc", "/proc") in ops and ("--tmpfs", "/tmp") in ops
    assert ("--dev", "/dev") in ops and ("--tmpfs", "/run") in ops
    assert not any(op[0] == "--bind" for op in ops)


def test_missing_mount_path_expands_its_ancestors() -> None:
    ops = triples(filesystem_args([Mount("/src", "/var/lib/new/data")], _host()))
    assert ("--ro-bind-try", "/var", "/var") not in ops
    assert ("--dir", "/var") in ops and ("--dir", "/var/lib") in ops
    # Siblings of the path are still the host's, read-only; symlinks stay symlinks.
    assert ("--ro-bind-try", "/var/log", "/var/log") in ops
    assert ("--ro-bind-try", "/var/lib/dpkg", "/var/lib/dpkg") in ops
    assert ("--symlink", "/run", "/var/run") in ops
    assert ops[-1] == ("--bind", "/src", "/var/lib/new/data")
    # The volume comes after every directory it lives in.
    assert ops.index(("--dir", "/var/lib")) < ops.index(("--bind", "/src", "/var/lib/new/data"))


def test_existing_dir_is_bound_over_directly() -> None:
    ops = triples(filesystem_args([Mount("/src", "/var/lib/mysql", read_only=True)], _host()))
    assert ("--ro-bind-try", "/var", "/var") in ops
    assert ops[-1] == ("--ro-bind", "/src", "/var/lib/mysql")


def test_type_mismatch_hides_the_host_entry() -> None:
    # A directory volume where the host has a file: the file is not bound, the dir is made.
    ops = triples(filesystem_args([Mount("/src", "/etc/hosts")], _host()))
    assert ("--dir", "/etc") in ops
    assert ("--ro-bind-try", "/etc/hosts", "/etc/hosts") not in ops
    assert ("--dir", "/etc/mysql") not in ops
    assert ("--ro-bind-try", "/etc/mysql", "/etc/mysql") in ops


def test_file_over_existing_file_and_mounts_under_tmp() -> None:
    ops = triples(
        filesystem_args(
            [Mount("/srcfile", "/etc/mysql/my.cnf", True), Mount("/src", "/tmp/x/y")], _host()
        )
    )
    assert ("--ro-bind-try", "/etc", "/etc") in ops
    assert ("--ro-bind", "/srcfile", "/etc/mysql/my.cnf") in ops
    assert ("--bind", "/src", "/tmp/x/y") in ops
    assert not any(op[0] == "--dir" for op in ops)


def test_parents_before_children() -> None:
    ops = triples(filesystem_args([Mount("/src", "/data/a/b"), Mount("/src", "/data")], _host()))
    binds = [op[2] for op in ops if op[0] == "--bind"]
    assert binds == ["/data", "/data/a/b"]
    assert all(PurePosixPath(b).is_absolute() for b in binds)


def test_symlink_replaces_the_host_file_inside_the_sandbox_only() -> None:
    mounts = [
        Mount("/pods/p/net", "/run/petset/net", read_only=True),
        Mount("/run/petset/net/hosts", "/etc/hosts", symlink=True),
    ]
    ops = triples(filesystem_args(mounts, _host()))
    assert ("--dir", "/etc") in ops
    assert ("--ro-bind-try", "/etc/hosts", "/etc/hosts") not in ops
    assert ("--ro-bind-try", "/etc/mysql", "/etc/mysql") in ops
    assert ("--ro-bind", "/pods/p/net", "/run/petset/net") in ops
    assert ("--symlink", "/run/petset/net/hosts", "/etc/hosts") in ops

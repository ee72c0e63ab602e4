"""petset's own code stays visible in pods even when it lives under /tmp."""

from __future__ import annotations

from petset.node.mounts import Mount, runtime_mounts


def test_only_paths_under_fresh_directories_are_bound() -> None:
    got = runtime_mounts(["/tmp/ci/.venv", "/usr", "/root/.pyenv/versions/3.11.7", "/tmp/ci"])
    assert got == [Mount("/tmp/ci", "/tmp/ci", True), Mount("/tmp/ci/.venv", "/tmp/ci/.venv", True)]

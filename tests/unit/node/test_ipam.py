"""Stable loopback addresses that survive a restart and are never handed out twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petset.node.ipam import IPPool, PoolExhaustedError


def test_allocation_is_stable_and_persistent(tmp_path: Path) -> None:
    state = tmp_path / "ips.json"
    pool = IPPool("127.30.0.0/24", state)
    a = pool.allocate("default/web-0")
    b = pool.allocate("default/web-1")
    assert (a, b) == ("127.30.0.2", "127.30.0.3")
    assert pool.allocate("default/web-0") == a
    again = IPPool("127.30.0.0/24", state)
    assert again.lookup("default/web-0") == a
    assert again.allocate("default/web-2") == "127.30.0.4"
    assert json.loads(state.read_text())["allocations"]["default/web-1"] == b


def test_release_frees_the_address_for_reuse(tmp_path: Path) -> None:
    pool = IPPool("127.30.0.0/24", tmp_path / "ips.json")
    a = pool.allocate("x")
    pool.allocate("y")
    pool.release("x")
    assert pool.lookup("x") is None
    assert pool.allocate("z") == a
    pool.release("never-there")  # no error


def test_exhaustion(tmp_path: Path) -> None:
    pool = IPPool("127.30.0.0/30", tmp_path / "ips.json")  # .2 only (.0 net, .1 kept, .3 bcast)
    assert pool.allocate("a") == "127.30.0.2"
    with pytest.raises(PoolExhaustedError):
        pool.allocate("b")
    assert not list(tmp_path.glob("*.tmp*"))


def test_an_old_pod_cannot_release_the_address_its_successor_holds(tmp_path: Path) -> None:
    pool = IPPool("127.30.0.0/24", tmp_path / "ips.json")
    ip = pool.allocate("default/web-0", holder="old-uid")
    assert pool.allocate("default/web-0", holder="new-uid") == ip
    assert not pool.release("default/web-0", holder="old-uid")
    assert IPPool("127.30.0.0/24", tmp_path / "ips.json").lookup("default/web-0") == ip
    assert pool.release("default/web-0", holder="new-uid")
    assert pool.lookup("default/web-0") is None

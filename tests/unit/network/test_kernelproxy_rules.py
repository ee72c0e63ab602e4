"""Kernel proxy decisions, pure: the nftables ruleset, removed backends, sockets to close, mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from petset.api.settings import Settings
from petset.node import kernelproxy
from petset.node.kernelproxy import (
    choose_mode,
    doomed_clients,
    parse_ss,
    removed_backends,
    render_ruleset,
    table_name,
)
from petset.node.proxy import Route

HOME = Path("/var/lib/petset-test")
RW = ("127.20.0.1", 3306)
RO = ("127.20.0.2", 3306)
EMPTY = ("127.20.0.3", 80)


def routes() -> dict[tuple[str, int], Route]:
    return {
        RW: Route("db/rw:3306", (("127.10.0.1", 3306),)),
        RO: Route("db/ro:3306", (("127.10.0.2", 3306), ("127.10.0.3", 3307))),
        EMPTY: Route("db/web:80", ()),
    }


def test_ruleset_is_one_transaction_that_recreates_the_whole_table() -> None:
    text = render_ruleset("petset-abc", routes(), home=HOME)
    lines = [line.strip() for line in text.splitlines()]
    # Created if missing (so flush cannot fail), emptied, then defined: atomic in `nft -f`.
    assert lines[:3] == [
        f'table ip petset-abc {{ comment "petset home={HOME}"; }}',
        "flush table ip petset-abc",
        "table ip petset-abc {",
    ]
    assert "type nat hook output priority -100; policy accept;" in lines
    rules = [line for line in lines if line.startswith("ip daddr")]
    assert rules == [
        'ip daddr 127.20.0.1 tcp dport 3306 dnat ip to 127.10.0.1:3306 comment "db/rw:3306"',
        "ip daddr 127.20.0.2 tcp dport 3306 dnat ip to numgen random mod 2 map "
        '{ 0 : 127.10.0.2 . 3306, 1 : 127.10.0.3 . 3307 } comment "db/ro:3306"',
        'ip daddr 127.20.0.3 tcp dport 80 reject with tcp reset comment "db/web:80"',
    ]


def test_comments_are_quoted_safely_and_bounded() -> None:
    text = render_ruleset("t", {RW: Route('a"b' + "x" * 300, ())}, home=HOME)
    rule = next(line for line in text.splitlines() if "ip daddr" in line)
    comment = rule.split("comment ", 1)[1]
    assert comment.count('"') == 2 and len(comment) <= 128


def test_table_name_is_per_state_directory_and_stable(tmp_path: Path) -> None:
    assert table_name(tmp_path / "a") == table_name(tmp_path / "a" / ".." / "a")
    assert table_name(tmp_path / "a") != table_name(tmp_path / "b")
    assert table_name(tmp_path).startswith("petset-") and len(table_name(tmp_path)) == 19


def test_removed_backends_covers_unready_endpoints_and_deleted_services() -> None:
    new = {
        RO: Route("db/ro:3306", (("127.10.0.3", 3307), ("127.10.0.9", 3306))),
        EMPTY: Route("db/web:80", (("127.10.0.5", 80),)),
    }
    assert removed_backends(routes(), new) == {
        RW: {("127.10.0.1", 3306)},  # the Service went away
        RO: {("127.10.0.2", 3306)},  # that endpoint left
    }
    assert removed_backends(routes(), routes()) == {}


SS = """\
LISTEN 0      4096   127.10.0.2:3306   0.0.0.0:*
ESTAB  0      0      127.0.0.1:40001   127.20.0.2:3306
ESTAB  0      0      127.10.0.2:3306   127.0.0.1:40001
ESTAB  0      0      127.0.0.1:40002   127.20.0.2:3306
ESTAB  0      0      127.10.0.3:3307   127.0.0.1:40002
ESTAB  0      0      127.0.0.1:40003   127.10.0.2:3306
ESTAB  0      0      127.10.0.2:3306   127.0.0.1:40003
ESTAB  0      0      [::1]:5000        [::1]:40004
"""


def test_parse_ss_keeps_ipv4_connections() -> None:
    sockets = parse_ss(SS)
    assert (("127.0.0.1", 40001), ("127.20.0.2", 3306)) in sockets
    assert len(sockets) == 6  # no listener, no IPv6


def test_only_client_sockets_paired_with_a_removed_backend_are_doomed() -> None:
    removed = {RO: {("127.10.0.2", 3306)}}
    # 40002 goes through the Service to a backend that stays; 40003 talks to the
    # removed member directly (replication, say): neither is the Service's to close.
    assert doomed_clients(parse_ss(SS), removed) == [(("127.0.0.1", 40001), RO)]


def test_mode_userspace_when_asked_or_when_nft_cannot_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert choose_mode(Settings(home=HOME, proxy_mode="userspace")).mode == "userspace"
    monkeypatch.setattr(kernelproxy, "nft_works", lambda: "not root")
    choice = choose_mode(Settings(home=HOME))
    assert (choice.mode, choice.reason) == ("userspace", "not root")
    with pytest.raises(RuntimeError, match="PETSET_PROXY_MODE=kernel but not root"):
        choose_mode(Settings(home=HOME, proxy_mode="kernel"))
    with pytest.raises(ValueError, match="must be one of auto, kernel, userspace"):
        choose_mode(Settings(home=HOME, proxy_mode="ebpf"))
    monkeypatch.setattr(kernelproxy, "nft_works", lambda: None)
    assert choose_mode(Settings(home=HOME)).mode == "kernel"


def test_proxy_mode_from_env() -> None:
    assert Settings.from_env({"PETSET_PROXY_MODE": "kernel"}).proxy_mode == "kernel"
    assert Settings.from_env({}).proxy_mode == "auto"


def test_a_home_too_long_for_a_comment_is_not_named() -> None:
    # remove_orphans deletes tables whose named home is gone: a cut path would be.
    text = render_ruleset("t", {}, home=Path("/x" * 100))
    assert 'comment "petset"' in text and "home=" not in text

"""A member's persistent connection: a stale one (the member restarted) is
replaced at once; a silent member is not waited for twice."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from petset.engines.mysql import links, sql

CREDS = sql.Credentials("petset_admin", "x")


class FakeCursor:
    def __init__(self, conn: FakeConn) -> None:
        self.conn = conn

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, statement: str) -> None:
        if self.conn.error is not None:
            raise pymysql.err.OperationalError(2013, self.conn.error)

    def fetchall(self) -> list[dict[str, Any]]:
        return [{"ro": 1, "semi": "OFF", "repl": "ON"}]


class FakeConn:
    def __init__(self, error: str | None) -> None:
        self.error = error
        self.closed = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[FakeConn]:
    """Connections the links open, in order (tests make them fail by hand)."""
    made: list[FakeConn] = []

    def open_connection(host: str, creds: sql.Credentials, **_: object) -> FakeConn:
        made.append(FakeConn(None))
        return made[-1]

    monkeypatch.setattr(sql, "open_connection", open_connection)
    return made


def test_one_connection_serves_every_pulse(opened: list[FakeConn]) -> None:
    link = links.Link("10.0.0.1", CREDS)
    for _ in range(3):
        assert link.pulse() == links.Pulse(read_only=True, semi_sync_on=False, replicating=True)
    assert len(opened) == 1


def test_a_stale_connection_is_replaced_at_once(opened: list[FakeConn]) -> None:
    link = links.Link("10.0.0.1", CREDS)
    link.pulse()
    opened[0].error = "Lost connection to MySQL server during query (Broken pipe)"
    assert link.pulse().replicating
    assert len(opened) == 2 and opened[0].closed


def test_a_silent_member_is_not_asked_twice(opened: list[FakeConn]) -> None:
    link = links.Link("10.0.0.1", CREDS)
    link.pulse()
    opened[0].error = "Lost connection to MySQL server during query (timed out)"
    with pytest.raises(sql.MemberUnreachable):
        link.pulse()
    assert len(opened) == 1  # the next pulse opens a new one


def test_a_new_password_closes_the_old_session(opened: list[FakeConn]) -> None:
    pool = links.Links()
    pool.get("10.0.0.1", CREDS).pulse()
    pool.get("10.0.0.1", sql.Credentials("petset_admin", "y")).pulse()
    assert opened[0].closed and not opened[1].closed
    pool.retain(set())
    assert opened[1].closed

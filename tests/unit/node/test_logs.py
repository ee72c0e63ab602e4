"""Log files: tail, rotation by copy-truncate, timestamp index, previous-instance pruning."""

from __future__ import annotations

from pathlib import Path

from petset.node import logs


def test_tail_and_rotation_keep_order(tmp_path: Path) -> None:
    path = logs.instance_log(tmp_path, 0)
    path.write_bytes(b"a\nb\n")
    seen = logs.mark(path, 0, limit=4, now=100.0)  # rotates: 4 bytes >= limit
    assert seen == 0 and path.read_bytes() == b""
    with open(path, "ab") as f:
        f.write(b"c\n")
    seen = logs.mark(path, seen, limit=100, now=200.0)
    assert logs.read(path) == "a\nb\nc\n"
    assert logs.read(path, tail=2) == "b\nc\n"
    assert logs.read(path, tail=0) == ""
    stamped = logs.read(path, timestamps=True).splitlines()
    assert stamped[0].endswith(" a") and stamped[0].startswith("1970-01-01T00:01:40.")
    assert stamped[2].startswith("1970-01-01T00:03:20.000000000Z c")


def test_timestamps_follow_the_index(tmp_path: Path) -> None:
    path = logs.instance_log(tmp_path, 3)
    path.write_bytes(b"one\n")
    seen = logs.mark(path, 0, now=10.0)
    with open(path, "ab") as f:
        f.write(b"two\nthree\n")
    logs.mark(path, seen, now=20.0)
    lines = logs.read(path, timestamps=True).splitlines()
    assert [ln.split(" ")[0][17:19] for ln in lines] == ["10", "20", "20"]


def test_prune_keeps_current_and_previous(tmp_path: Path) -> None:
    for n in range(4):
        logs.instance_log(tmp_path, n).write_text(str(n))
        logs.instance_log(tmp_path, n).with_suffix(".log.idx").write_text("")
    (tmp_path / "13.log").write_text("x")
    logs.prune(tmp_path, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2.log",
        "2.log.idx",
        "3.log",
        "3.log.idx",
    ]


def test_follow_until_stopped(tmp_path: Path) -> None:
    path = logs.instance_log(tmp_path, 0)
    path.write_bytes(b"x\ny\npartial")
    out = list(logs.follow(path, lambda: False, tail=1))
    # "partial" has no newline yet; once the instance is gone it is flushed as is.
    assert out == ["partial"]

"""Pure decisions: fenceposts, the template hash, proportions, revisions."""

from __future__ import annotations

import pytest

from petset.api.errors import InvalidError
from petset.controllers.deployment import util


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable rounds down
        ("25%", "25%", 1, (1, 0)),
        ("0%", "1%", 2, (0, 1)),  # both would be 0: unavailable becomes 1
        (0, 0, 5, (0, 1)),
        (2, "50%", 5, (2, 2)),
        ("100%", 0, 3, (3, 0)),
    ],
)
def test_resolve_fenceposts(
    surge: object, unavailable: object, desired: int, expected: tuple[int, int]
) -> None:
    assert util.resolve_fenceposts(surge, unavailable, desired) == expected


def test_bad_int_or_percent_names_the_field() -> None:
    with pytest.raises(InvalidError, match=r"maxSurge: '25' is not an integer or a percentage"):
        util.resolve_fenceposts("25", 1, 4)


def test_fnv32a_and_safe_encoding_match_go() -> None:
    assert util.fnv32a(b"") == 0x811C9DC5
    assert util.fnv32a(b"a") == 0xE40C292C
    assert util.fnv32a(b"foobar") == 0xBF9CF968
    # rand.SafeEncodeString: each digit's code modulo 27 picks from "bcdfghjklmnpqrstvwxz2456789",
    # which is why Kubernetes hashes look like "66b6c48dd5"
    assert util.safe_encode("0123456789") == "456789bcdf"


def test_hash_is_stable_and_changes_with_template_and_collisions() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"image": "v1"}]}}
    reordered = {"spec": {"containers": [{"image": "v1"}]}, "metadata": {"labels": {"app": "web"}}}
    h = util.compute_hash(template, None)
    assert h == util.compute_hash(reordered, None)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    assert util.compute_hash(template, 1) != h
    assert util.compute_hash(template, 1) != util.compute_hash(template, 2)
    changed = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"image": "v2"}]}}
    assert util.compute_hash(changed, None) != h


def test_equal_ignore_hash_ignores_the_label_and_empty_fields() -> None:
    a = {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}}, "spec": {"x": 1}}
    b = {"metadata": {"labels": {"app": "web"}, "annotations": {}}, "spec": {"x": 1}}
    assert util.equal_ignore_hash(a, b)
    assert not util.equal_ignore_hash(a, {"metadata": {"labels": {"app": "web"}}, "spec": {"x": 2}})


def _rs(name: str, replicas: int, created: str, max_replicas: int | None = None) -> dict:  # type: ignore[type-arg]
    ann = {} if max_replicas is None else {util.MAX_REPLICAS: str(max_replicas)}
    return {
        "metadata": {"name": name, "uid": name, "creationTimestamp": created, "annotations": ann},
        "spec": {"replicas": replicas},
    }


def test_proportion_rounds_half_away_from_zero() -> None:
    d = util.with_defaults({"metadata": {}, "spec": {"replicas": 6}})  # 6 + surge 2 = 8
    rs = _rs("a", 1, "t", max_replicas=16)  # 1 * 8 / 16 = 0.5 -> rounds to 1
    assert util.get_proportion(rs, d, 5, 0) == 0  # round(0.5) = 1, minus its size 1
    rs = _rs("b", 3, "t", max_replicas=16)  # 3 * 8 / 16 = 1.5 -> 2
    assert util.get_proportion(rs, d, -5, 0) == -1


def test_last_revision_is_the_second_highest() -> None:
    rss = [
        {"metadata": {"annotations": {util.REVISION: r}}} for r in ("1", "4", "3", "not-a-number")
    ]
    assert util.max_revision(rss) == 4
    assert util.last_revision(rss) == 3


def test_new_revision_keeps_history_when_a_replica_set_is_reused() -> None:
    d = util.with_defaults({"metadata": {"annotations": {util.CHANGE_CAUSE: "undo"}}, "spec": {}})
    rs = {"metadata": {"annotations": {util.REVISION: "1"}}}
    assert util.set_new_rs_annotations(d, rs, 3, exists=True)
    ann = rs["metadata"]["annotations"]
    assert (ann[util.REVISION], ann[util.REVISION_HISTORY], ann[util.CHANGE_CAUSE]) == (
        "3",
        "1",
        "undo",
    )
    assert not util.set_new_rs_annotations(d, rs, 3, exists=True)

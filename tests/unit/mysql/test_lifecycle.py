"""Lifecycle decisions from views (no servers): rolling order, halts, undo,
fencing, hibernation, and spec.config against MariaDB's variable catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from petset.api import mariadb_params
from petset.api.petset_kinds import MySQLClusterSpec, validate_petset_kind
from petset.engines.mysql.gtid import GtidPosition
from petset.engines.mysql.lifecycle import (
    Complete,
    Halt,
    Member,
    Restarting,
    RestartMember,
    RolloutView,
    Wait,
    hibernation_step,
    merge_diff,
    parse_fenced,
    plan_fence,
    plan_rollout,
    record_revision,
    undo_patch,
)
from petset.engines.mysql.render import RenderContext, merge_template, render_statefulset
from petset.engines.mysql.sql import MemberStatus, ReplicaStatus
from petset.engines.mysql.topology import MemberView, Switchover

OLD, NEW = "r1", "r2"


def members(revs: tuple[str | None, ...], healthy: tuple[bool, ...] = ()) -> tuple[Member, ...]:
    ok = healthy or (True,) * len(revs)
    return tuple(Member(f"db-{i}", i, r, ok[i]) for i, r in enumerate(revs))


def rview(ms: tuple[Member, ...], **kw: Any) -> RolloutView:
    base: dict[str, Any] = {
        "primary": "db-0",
        "update_revision": NEW,
        "observed": True,
        "restarting": None,
        "halted_revision": None,
        "started_primary": "db-0",
        "timeout": 60.0,
        "now": 1000.0,
    }
    base.update(kw)
    return RolloutView(ms, **base)


def drive(revs: list[str | None], primary: str = "db-0") -> list[str]:
    """Run plan_rollout to the end as the controller would; the actions in order."""
    done: list[str] = []
    for _ in range(10):
        d = plan_rollout(rview(members(tuple(revs)), primary=primary, started_primary="db-0"))
        if isinstance(d.action, Complete):
            return done
        if isinstance(d.action, RestartMember):
            done.append(f"restart {d.action.member}")
            revs[int(d.action.member[-1])] = NEW  # came back healthy at the new revision
        elif isinstance(d.action, Switchover):
            done.append(f"switchover {d.action.old}->{d.action.new}")
            primary = d.action.new
        else:
            raise AssertionError(d)
    raise AssertionError("did not converge")


def test_rollout_goes_replicas_highest_first_then_switchover_then_old_primary() -> None:
    assert drive([OLD, OLD, OLD]) == [
        "restart db-2",
        "restart db-1",
        "switchover db-0->db-1",
        "restart db-0",
    ]


def test_rollout_restarts_one_member_and_waits_for_it() -> None:
    d = plan_rollout(rview(members((OLD, OLD, OLD))))
    assert d.action == RestartMember("db-2", NEW) and "db-2 (replica)" in d.message
    waiting = rview(
        members((OLD, OLD, None), (True, True, False)),
        restarting=Restarting("db-2", NEW, 990.0),
    )
    d = plan_rollout(waiting)
    assert isinstance(d.action, Wait) and "db-2" in d.message


def test_a_member_not_back_in_time_halts_the_rollout_there() -> None:
    late = rview(
        members((OLD, OLD, NEW), (True, True, False)), restarting=Restarting("db-2", NEW, 900.0)
    )
    d = plan_rollout(late)
    assert d.action == Halt("db-2") and "halted at db-2" in d.message and "undo" in d.message
    crashing = tuple(
        Member(m.name, m.ordinal, m.revision, m.healthy, restarts=3 if m.ordinal == 2 else 0)
        for m in members((OLD, OLD, NEW), (True, True, False))
    )
    d = plan_rollout(rview(crashing, restarting=Restarting("db-2", NEW, 999.0)))
    assert d.action == Halt("db-2") and "crashed 3 times" in d.message
    # halted stays halted until the revision changes
    d = plan_rollout(rview(crashing, halted_revision=NEW, restarting=Restarting("db-2", NEW, 0)))
    assert isinstance(d.action, Halt)


def test_after_undo_the_broken_member_is_replaced_first() -> None:
    # update revision is back to r1; db-2 runs the broken r2 and is unhealthy
    ms = members((OLD, OLD, NEW), (True, True, False))
    d = plan_rollout(
        rview(ms, update_revision=OLD, halted_revision=NEW, restarting=Restarting("db-2", NEW, 0))
    )
    assert d.action == RestartMember("db-2", OLD)


def test_no_healthy_member_is_taken_down_while_another_is_unhealthy() -> None:
    d = plan_rollout(rview(members((OLD, NEW, OLD), (True, False, True))))
    assert isinstance(d.action, Wait) and "db-1" in d.message


def test_fenced_members_are_left_out_and_unobserved_templates_wait() -> None:
    ms = (*members((NEW, NEW)), Member("db-2", 2, OLD, False, fenced=True))
    assert isinstance(plan_rollout(rview(ms)).action, Complete)
    assert isinstance(plan_rollout(rview(members((OLD,)), observed=False)).action, Wait)


def test_undo_returns_to_the_revision_before_the_rollout() -> None:
    first = {"config": {"a": 1}, "podTemplate": None}
    record = record_revision({}, first)
    broken = {"config": {"a": 1, "b": 2}, "podTemplate": {"spec": {"x": 1}}}
    patch, msg = undo_patch(record, broken)
    assert patch == {"config": {"b": None}, "podTemplate": None} and "before this rollout" in msg
    record = record_revision(record, broken)
    patch, msg = undo_patch(record, broken)
    assert "previous revision" in msg and patch["config"] == {"b": None}
    with pytest.raises(LookupError):
        undo_patch({}, first)
    assert merge_diff({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}) == {"a": {"c": None}}


def _status(replicating: bool) -> MemberStatus:
    p = GtidPosition.parse("0-100-5")
    rep = ReplicaStatus("127.0.0.1", "Yes" if replicating else "No", replicating, "", "", 0, p)
    return MemberStatus(101, "10.11", True, p, p, p, rep, False, 0)


def test_fencing_unlabels_and_stops_a_replica_but_never_the_primary() -> None:
    live = MemberView("db-1", 1, "127.0.0.2", running=True, role_label="replica",
                      status=_status(True))  # fmt: skip
    d = plan_fence(frozenset({"db-1"}), "db-0", [live])
    assert d.action is not None and d.action.member == "db-1"
    done = MemberView("db-1", 1, "127.0.0.2", running=True, status=_status(False))
    assert plan_fence(frozenset({"db-1"}), "db-0", [done]).action is None
    refused = plan_fence(frozenset({"db-0"}), "db-0", [live])
    assert refused.blocked and "switchover" in refused.message
    assert parse_fenced(" db-1, ,db-2") == {"db-1", "db-2"}


def test_hibernation_states() -> None:
    assert hibernation_step(True, None, 3, True, 0)[0] == "Stopping"
    assert hibernation_step(True, "Stopping", 2, False, 0)[0] == "Stopping"
    assert hibernation_step(True, "Stopping", 0, False, 0)[0] == "Hibernated"
    assert hibernation_step(False, "Hibernated", 0, False, 0)[0] == "Waking"
    assert hibernation_step(False, "Waking", 3, False, 5)[0] == "Waking"
    assert hibernation_step(False, "Waking", 3, True, 5)[0] is None
    assert hibernation_step(False, "Waking", 3, False, 500)[0] is None  # gave up waiting
    assert hibernation_step(False, None, 3, True, 0) == (None, "")


def _cluster(config: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
            "metadata": {"name": "x"}, "spec": {"config": config}}  # fmt: skip


def test_spec_config_is_checked_against_mariadb_variables_with_the_parameter_named() -> None:
    problems = validate_petset_kind(
        _cluster({"max_connections": "lots", "no_such_var": 1, "max_conections": 5,
                  "binlog_format": "JSON", "back_log": 100000, "server_id": 3})
    )  # fmt: skip
    text = "\n".join(problems)
    for path in ("max_connections:", "no_such_var:", "binlog_format:", "back_log:", "server_id:"):
        assert f"spec.config.{path}" in text
    assert 'did you mean "max_connections"' in text
    ok = {"max_connections": 300, "innodb_buffer_pool_size": "256M", "slow_query_log": True,
          "long_query_time": 0.5, "sql_mode": "STRICT_TRANS_TABLES", "loose_x": 1}  # fmt: skip
    assert validate_petset_kind(_cluster(ok)) == []


def test_static_and_dynamic_parameters_and_set_global_literals() -> None:
    dynamic, static = mariadb_params.split_static({"max_connections": 5, "back_log": 7})
    assert dynamic == {"max_connections": 5} and static == {"back_log": 7}
    cat = mariadb_params.catalogue()
    pool = cat.get("innodb-buffer-pool-size")
    assert pool is not None and mariadb_params.sql_literal(pool, "256M") == str(256 << 20)
    mode = cat.get("sql_mode")
    assert mode is not None and mariadb_params.sql_literal(mode, "A'B") == "'A\\'B'"


def test_static_parameters_change_the_pod_template_dynamic_ones_do_not() -> None:
    obj = {"apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
           "metadata": {"name": "x", "namespace": "default", "uid": "u"}}  # fmt: skip

    def template(config: dict[str, Any]) -> Any:
        spec = MySQLClusterSpec.model_validate({"config": config})
        return render_statefulset(obj, spec, RenderContext())["spec"]["template"]

    assert template({"max_connections": 50}) == template({"max_connections": 60})
    assert template({"back_log": 5}) != template({"back_log": 6})


def test_pod_template_overrides_merge_containers_by_name() -> None:
    base = {"spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b"}]}}
    out = merge_template(base, {"spec": {"containers": [{"name": "a", "args": ["-x"]}]}})
    assert out["spec"]["containers"] == [{"name": "a", "image": "i", "args": ["-x"]}, {"name": "b"}]


def test_a_removed_override_changes_the_statefulsets_digest() -> None:
    obj = {"apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
           "metadata": {"name": "x", "namespace": "default", "uid": "u"}}  # fmt: skip
    broken = {"spec": {"containers": [{"name": "mariadbd", "args": ["--bad"]}]}}

    def digest(pod_template: dict[str, Any] | None) -> str:
        spec = MySQLClusterSpec.model_validate({"podTemplate": pod_template})
        sts = render_statefulset(obj, spec, RenderContext())
        return str(sts["metadata"]["annotations"]["petset.dev/template-digest"])

    assert digest(broken) != digest(None)  # undo must reach the StatefulSet (sync is a subset test)

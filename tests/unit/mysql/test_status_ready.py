"""A MySQLCluster is Ready only when writes can reach its primary: the rw Service
routes to the primary's pod once that pod is Ready, which can come a probe period
after the server answers SQL."""

from __future__ import annotations

from typing import Any

from petset.api.petset_kinds import parse_mysqlcluster
from petset.engines.mysql.gtid import GtidPosition
from petset.engines.mysql.sql import MemberStatus
from petset.engines.mysql.status import build_status
from petset.engines.mysql.topology import Decision, MemberView, Nothing

OBJ: dict[str, Any] = {
    "apiVersion": "petset.dev/v1alpha1",
    "kind": "MySQLCluster",
    "metadata": {"name": "db", "namespace": "default"},
    "spec": {"replicas": 1},
}


def _primary(serving: bool) -> MemberView:
    pos = GtidPosition.parse("0-100-5")
    st = MemberStatus(100, "10.11", False, pos, pos, GtidPosition(), None, False, 0)
    return MemberView("db-0", 0, "127.1.0.1", running=True, status=st, serving=serving)


def _ready(serving: bool) -> tuple[str, dict[str, Any]]:
    spec = parse_mysqlcluster(OBJ).spec
    base = {"initialized": True, "primary": "db-0"}
    st = build_status(OBJ, spec, [_primary(serving)], Decision(Nothing(), "ok"), base, 0.0)
    return st["phase"], next(c for c in st["conditions"] if c["type"] == "Ready")


def test_a_healthy_primary_whose_pod_is_not_ready_yet_is_not_ready() -> None:
    phase, cond = _ready(serving=False)
    assert phase == "Progressing" and cond["status"] == "False"
    assert "db-0's pod is not Ready yet" in cond["message"]


def test_a_healthy_primary_whose_pod_is_ready_is_ready() -> None:
    phase, cond = _ready(serving=True)
    assert phase == "Ready" and cond["status"] == "True"
    assert cond["message"] == "1/1 members healthy"

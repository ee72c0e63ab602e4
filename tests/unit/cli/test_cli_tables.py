from __future__ import annotations

from datetime import UTC, datetime

from petset.cli.tables import age, pod_status, render, rows_for

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_age_reads_like_kubectl() -> None:
    assert age("2025-01-01T11:59:15Z", NOW) == "45s"
    assert age("2025-01-01T11:56:40Z", NOW) == "3m20s"
    assert age("2025-01-01T11:13:00Z", NOW) == "47m"
    assert age("2025-01-01T07:00:00Z", NOW) == "5h"
    assert age("2024-12-30T08:00:00Z", NOW) == "2d4h"
    assert age(None, NOW) == "<unknown>"


def test_pod_status_prefers_the_waiting_reason() -> None:
    pod = {"status": {"phase": "Running", "containerStatuses": [
        {"name": "m", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}  # fmt: skip
    assert pod_status(pod) == "CrashLoopBackOff"
    assert pod_status({"status": {"phase": "Running"}}) == "Running"
    assert pod_status({"metadata": {"deletionTimestamp": "x"}}) == "Terminating"


def test_statefulset_and_service_columns() -> None:
    sts = {"metadata": {"name": "web", "namespace": "a"}, "spec": {"replicas": 3},
           "status": {"readyReplicas": 2}}  # fmt: skip
    table = rows_for("StatefulSet", [sts], wide=False, all_namespaces=True)
    assert table[0] == ["NAMESPACE", "NAME", "READY", "AGE"]
    assert table[1][:3] == ["a", "web", "2/3"]
    svc = {"metadata": {"name": "web"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}
    assert rows_for("Service", [svc], wide=False, all_namespaces=False)[1][1:5] == [
        "ClusterIP", "None", "<none>", "80/TCP"]  # fmt: skip
    assert render([["A", "BB"], ["ccc", "d"]]) == "A     BB\nccc   d"

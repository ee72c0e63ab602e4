"""BackupSchedule decisions and the controller against MemoryCluster, with an injected clock."""

from __future__ import annotations

import time
from typing import Any

from petset.api.meta import ObjectKey
from petset.engines.mysql.backup.schedule import SCHEDULE_LABEL, plan, reconcile_schedule, retention
from petset.runtime.memory import MemoryCluster

HOUR = 3600.0
# 2030-01-01T00:00:00Z, a Tuesday
T0 = 1893456000.0


def ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def schedule(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "petset.dev/v1alpha1",
        "kind": "BackupSchedule",
        "metadata": {"name": "nightly", "namespace": "default", "creationTimestamp": ts(T0)},
        "spec": {"cluster": "db", "schedule": "0 * * * *", **spec},
    }


def backup(name: str, phase: str, finished: float) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": ts(finished - 10)},
        "status": {"phase": phase, "completionTime": ts(finished)},
    }


def test_nothing_is_due_before_the_first_cron_time() -> None:
    p = plan(schedule(), [], T0 + 59 * 60)
    assert p.create is None and p.next_time == T0 + HOUR
    assert "next backup at 2030-01-01T01:00:00Z" in p.message


def test_a_due_time_creates_one_backup_named_after_it() -> None:
    p = plan(schedule(), [], T0 + HOUR + 5)
    assert p.create == "nightly-203001010100" and p.scheduled_time == T0 + HOUR
    # exactly on the minute counts as due too
    assert plan(schedule(), [], T0 + HOUR).create == "nightly-203001010100"


def test_a_schedule_with_seconds_names_backups_to_the_second() -> None:
    s = schedule(schedule="0 * * * * */20")  # croniter's sixth field: seconds
    s["status"] = {"lastScheduleTime": ts(T0 + 20)}
    p = plan(s, [], T0 + 45)
    assert p.create == "nightly-20300101000040" and p.scheduled_time == T0 + 40


def test_missed_runs_collapse_into_the_latest() -> None:
    p = plan(schedule(), [], T0 + 5 * HOUR + 30)
    assert p.create == "nightly-203001010500"


def test_already_ran_for_this_time() -> None:
    s = schedule()
    s["status"] = {"lastScheduleTime": ts(T0 + HOUR)}
    assert plan(s, [], T0 + HOUR + 1800).create is None


def test_suspend_creates_nothing_but_still_prunes() -> None:
    olds = [backup(f"b{i}", "Completed", T0 - i * HOUR) for i in range(4)]
    p = plan(schedule(suspend=True, keep=2), olds, T0 + HOUR + 5)
    assert p.create is None and p.message == "suspended"
    assert set(p.delete) == {"b2", "b3"}


def test_one_backup_at_a_time() -> None:
    p = plan(schedule(), [backup("running", "Running", T0)], T0 + HOUR + 5)
    assert p.create is None and "running still runs" in p.message


def test_retention_by_count_and_age_keeps_the_newest_completed() -> None:
    now = T0 + 100 * HOUR
    bs = [
        backup("new-failed", "Failed", now - 1.5 * HOUR),
        backup("ok-1", "Completed", now - 2 * HOUR),
        backup("ok-2", "Completed", now - 30 * HOUR),
        backup("ok-3", "Completed", now - 50 * HOUR),
        backup("running", "Running", now - 60 * HOUR),
    ]
    assert retention({"keep": 2}, bs, now) == ["ok-2", "ok-3"]
    assert retention({"maxAge": "1d"}, bs, now) == ["ok-2", "ok-3"]
    assert retention({"maxAge": "1h"}, bs, now) == ["new-failed", "ok-2", "ok-3"]  # ok-1 stays
    assert retention({}, bs, now) == []


def _complete_all(cluster: MemoryCluster, now: float) -> None:
    for b in cluster.list("Backup", "default"):
        if not (b.get("status") or {}).get("phase"):
            cluster.patch(
                "Backup",
                b["metadata"]["name"],
                "default",
                {"status": {"phase": "Completed", "completionTime": ts(now)}},
            )


def test_controller_creates_owned_backups_and_prunes_by_keep() -> None:
    cluster = MemoryCluster()
    created = cluster.create(
        {**schedule(keep=2), "metadata": {"name": "nightly", "namespace": "default"}}
    )
    start = float(int(time.time() // HOUR + 1) * HOUR)  # the next full hour, real epoch
    key = ObjectKey("BackupSchedule", "default", "nightly")
    clock = [start - 60.0]
    r = reconcile_schedule(cluster, key, clock=lambda: clock[0])
    assert cluster.list("Backup", "default") == [] and r.requeue_after == 60.0
    names = []
    for hour in range(4):
        clock[0] = start + hour * HOUR + 2
        r = reconcile_schedule(cluster, key, clock=lambda: clock[0])
        assert r.message.startswith("backup for")
        # a second pass at the same time does nothing more
        reconcile_schedule(cluster, key, clock=lambda: clock[0])
        backups = cluster.list("Backup", "default", label_selector=f"{SCHEDULE_LABEL}=nightly")
        names = sorted(b["metadata"]["name"] for b in backups)
        owner = backups[0]["metadata"]["ownerReferences"][0]
        assert owner["uid"] == created["metadata"]["uid"] and owner["kind"] == "BackupSchedule"
        _complete_all(cluster, clock[0] + 60)
    # four runs, keep=2: the pass of hour 3 pruned the first; one more pass prunes the next
    clock[0] = start + 3 * HOUR + 120
    reconcile_schedule(cluster, key, clock=lambda: clock[0])
    left = sorted(b["metadata"]["name"] for b in cluster.list("Backup", "default"))
    assert left == names[-2:] and len(left) == 2
    st = cluster.get("BackupSchedule", "nightly", "default")["status"]
    assert st["lastSuccessfulBackup"] == names[-1]
    reasons = [e["reason"] for e in cluster.events]
    assert reasons.count("BackupCreated") == 4 and reasons.count("BackupPruned") == 2

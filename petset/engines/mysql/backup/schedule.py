"""The BackupSchedule controller: cron times become Backup objects owned by
the schedule; retention by count (`keep`) and age (`maxAge`) prunes them.

`plan` is the pure decision (a snapshot and a clock reading in, what to create
and delete out); tests drive it with an injected clock. Like a CronJob, a
schedule that missed several times while the daemon was down runs once, for
the latest missed time; Backups are named after their scheduled minute, so a
repeated pass never creates a second one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from croniter import croniter

from petset.api.errors import AlreadyExistsError, NotFoundError
from petset.api.meta import Obj, ObjectKey, owner_reference
from petset.api.units import parse_duration
from petset.runtime.cluster import Cluster
from petset.runtime.controller import Controller, Result

SCHEDULE_LABEL = "petset.dev/backup-schedule"
FINISHED = ("Completed", "Failed")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Plan:
    create: str | None  # name of the Backup to create now
    scheduled_time: float | None  # the cron time it stands for
    delete: tuple[str, ...]  # Backups retention removes
    next_time: float  # the next cron time after now
    message: str


def _finished_at(b: Obj) -> float:
    st = b.get("status") or {}
    return (
        parse_time(st.get("completionTime"))
        or parse_time(b["metadata"].get("creationTimestamp"))
        or 0.0
    )


def retention(spec: dict[str, Any], backups: list[Obj], now: float) -> list[str]:
    """Finished Backups beyond `keep` (newest first) or older than `maxAge`.
    The newest Completed one is always kept: a restore must stay possible."""
    done = sorted(
        (b for b in backups if (b.get("status") or {}).get("phase") in FINISHED),
        key=_finished_at,
        reverse=True,
    )
    newest_ok = next((b for b in done if b["status"]["phase"] == "Completed"), None)
    keep, max_age = spec.get("keep"), spec.get("maxAge")
    doomed = []
    for i, b in enumerate(done):
        too_many = keep is not None and i >= keep
        too_old = max_age is not None and now - _finished_at(b) > parse_duration(max_age)
        if (too_many or too_old) and b is not newest_ok:
            doomed.append(b["metadata"]["name"])
    return doomed


def plan(schedule: Obj, backups: list[Obj], now: float) -> Plan:
    spec, status = schedule["spec"], schedule.get("status") or {}
    name = schedule["metadata"]["name"]
    created = parse_time(schedule["metadata"].get("creationTimestamp")) or now
    last = parse_time(status.get("lastScheduleTime")) or created
    # the latest cron time <= now that is after the last one we ran
    it = croniter(spec["schedule"], now + 1)  # get_prev is strict: a time == now counts
    due = float(it.get_prev(float))
    if due > now:
        due = float(it.get_prev(float))
    next_time = float(croniter(spec["schedule"], now).get_next(float))
    doomed = tuple(retention(spec, backups, now))
    running = [b for b in backups if (b.get("status") or {}).get("phase") not in FINISHED]
    if spec.get("suspend"):
        return Plan(None, None, doomed, next_time, "suspended")
    if due <= last:
        return Plan(None, None, doomed, next_time, f"next backup at {_ts(next_time)}")
    if running:
        # like concurrencyPolicy: Forbid: one backup of a cluster at a time
        names = ", ".join(b["metadata"]["name"] for b in running)
        return Plan(None, None, doomed, next_time, f"skipping {_ts(due)}: {names} still runs")
    # croniter's optional sixth field is seconds: then several backups a minute
    fmt = "%Y%m%d%H%M%S" if len(spec["schedule"].split()) == 6 else "%Y%m%d%H%M"
    stamp = datetime.fromtimestamp(due, UTC).strftime(fmt)
    return Plan(f"{name}-{stamp}", due, doomed, next_time, f"backup for {_ts(due)}")


def reconcile_schedule(cluster: Cluster, key: ObjectKey, *, clock: Callable[[], float]) -> Result:
    try:
        sched = cluster.get("BackupSchedule", key.name, key.namespace)
    except NotFoundError:
        return Result(f"BackupSchedule {key.name} is gone")
    if sched["metadata"].get("deletionTimestamp"):
        return Result("being deleted")
    now = clock()
    backups = [
        b
        for b in cluster.list(
            "Backup", key.namespace, label_selector=f"{SCHEDULE_LABEL}={key.name}"
        )
        if not b["metadata"].get("deletionTimestamp")
    ]
    p = plan(sched, backups, now)
    status: dict[str, Any] = {}
    if p.create is not None and p.scheduled_time is not None:
        backup = {
            "apiVersion": "petset.dev/v1alpha1",
            "kind": "Backup",
            "metadata": {
                "name": p.create,
                "namespace": key.namespace,
                "labels": {SCHEDULE_LABEL: key.name},
                "ownerReferences": [owner_reference(sched)],
            },
            "spec": {"cluster": sched["spec"]["cluster"]},
        }
        try:
            cluster.create(backup)
            cluster.record_event(sched, type="Normal", reason="BackupCreated", message=p.message)
        except AlreadyExistsError:
            pass
        status["lastScheduleTime"] = _ts(p.scheduled_time)
    for name in p.delete:
        try:
            cluster.delete("Backup", name, key.namespace)
        except NotFoundError:
            continue
        cluster.record_event(
            sched, type="Normal", reason="BackupPruned", message=f"deleted {name} (retention)"
        )
    done = [b for b in backups if (b.get("status") or {}).get("phase") == "Completed"]
    if done:
        status["lastSuccessfulBackup"] = max(done, key=_finished_at)["metadata"]["name"]
    status["nextScheduleTime"] = _ts(p.next_time)
    status["message"] = p.message
    old = sched.get("status") or {}
    if any(old.get(k) != v for k, v in status.items()):
        cluster.patch("BackupSchedule", key.name, key.namespace, {"status": status})
    # wake at the next cron time (and now and then for retention by age)
    return Result(p.message, requeue_after=max(1.0, min(p.next_time - now, 60.0)))


def schedule_controller(*, clock: Callable[[], float] = time.time) -> Controller:
    return Controller(
        name="backupschedule",
        kind="BackupSchedule",
        reconcile=partial(reconcile_schedule, clock=clock),
        owns=("Backup",),
    )

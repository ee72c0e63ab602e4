"""The chaos suite: rounds of faults under a recorded writer, each checked.

One 3-member cluster, one writer through the rw Service for the whole run, a
read_only monitor on every member. Each round injects a fault, waits until
all members are healthy again (time to heal), then checks the history so far
against the table read back through the rw Service: acknowledged writes lost
(must be 0) and moments with two writable primaries (must be 0). A round that
fails keeps the pods' logs, the daemon's log, events and topology under
bench/results/chaos-failed/<round>/.

    .venv/bin/python bench/run.py chaos [--quick]

Rounds (bench/chaos/faults.py, rollout.py, diskfull.py): kill -9 of the
primary, a replica, the daemon, the daemon then the primary; SIGSTOP of the
primary; every member killed; a replica's ibdata1 corrupted; kill -9 of a
random member or of the daemon during a rolling change (a static parameter,
a podTemplate change), which must also complete within a bound; a member's
data volume filled up (replica, then primary), then freed. Time to heal is
measured from the fault, except for a full disk: from the moment the space
is freed. CHAOS_ROUNDS=name,name,... picks rounds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.chaos import diskfull, rollout
from bench.chaos.cluster import RoundFailed
from bench.chaos.faults import FAULTS
from bench.chaos.history import PrimaryMonitor, Writer, check, longest_gap
from bench.ha import HA, ha_cluster, stale_rw, wait_for_ids
from bench.harness import RESULTS, Metric, Report
from bench.mysqlkit import query

QUICK = ("kill-primary", "kill-daemon", "kill-all", "rollout-config+kill-member")
# A fault returns what it did, and optionally the moment time to heal counts from.
RoundFault = Callable[[HA], "str | tuple[str, float]"]


@dataclass
class Round:
    name: str
    did: str
    heal_s: float | None
    lost: int
    split: int
    note: str
    problem: str = ""  # the round's own check failed (e.g. a rollout did not complete)
    skipped: str = ""  # could not run here, and why
    write_gap_s: float | None = None  # longest stretch without an acknowledged write

    @property
    def ok(self) -> bool:
        if self.skipped:
            return True
        healed = self.heal_s is not None and not self.problem
        return healed and self.lost == 0 and self.split == 0


def all_faults(rig: diskfull.DiskRig) -> dict[str, RoundFault]:
    return {**FAULTS, **rollout.FAULTS, **diskfull.faults(rig)}


def one_round(
    ha: HA,
    name: str,
    fault: RoundFault,
    monitor: PrimaryMonitor,
    writer: Writer,
    known_lost: set[int],
) -> Round:
    ha.wait_healthy(180)
    time.sleep(2)
    seen_split = len(monitor.split_brain)
    start = injected = time.monotonic()
    problem = ""
    try:
        done = fault(ha)
        did, start = done if isinstance(done, tuple) else (done, start)
    except diskfull.Skip as err:
        return Round(name, "skipped", None, 0, 0, "", skipped=str(err))
    except RoundFailed as err:
        did, problem = err.did, err.why
    except Exception as err:
        return Round(name, "the fault could not be injected", None, 0, 0, "", problem=str(err))
    heal: float | None
    try:
        time.sleep(1)
        ha.wait_healthy(240)
        heal = None if problem else time.monotonic() - start
    except TimeoutError:
        heal = None
    stale = stale_rw(ha.rw)
    # The writer keeps going: only writes acknowledged before the read can be judged.
    history = list(writer.ops)
    gap = longest_gap(history, injected, time.monotonic())
    try:
        present = wait_for_ids(ha.rw, 60)
        verdict = check(history, present)
        # A write lost in an earlier round stays lost: count it there only.
        fresh = [i for i in verdict.lost if i not in known_lost]
        known_lost.update(fresh)
        lost, note = len(fresh), verdict.summary()
        if stale:
            note += f"; once healthy, the rw Service first answered from {stale}"
        if fresh:
            note += f"; lost ids {fresh[:10]}"
            record_loss(ha, name, injected, writer, fresh)
        if len(verdict.lost) > len(fresh):
            note += f"; {len(verdict.lost) - len(fresh)} lost in earlier rounds"
    except TimeoutError as err:
        lost, note = -1, f"could not read the table back: {err}"
    split = len(monitor.split_brain) - seen_split
    return Round(name, did, heal, lost, split, note, problem=problem, write_gap_s=gap)


def _verdict(r: Round) -> str:
    if r.skipped:
        return f"SKIPPED: {r.skipped}"
    heal = "did not heal" if r.heal_s is None else f"healed in {r.heal_s:.1f} s"
    problem = f"; FAILED: {r.problem}" if r.problem else ""
    gap = "" if r.write_gap_s is None else f"; longest write gap {r.write_gap_s:.1f} s"
    return f"{heal}; lost {r.lost}; two primaries {r.split}{gap}{problem}"


def record_loss(ha: HA, name: str, fault_at: float, writer: Writer, lost: list[int]) -> None:
    """What each member holds of the lost writes, and when they were acknowledged."""
    out = RESULTS / "chaos-failed" / name
    out.mkdir(parents=True, exist_ok=True)
    ids = ",".join(str(i) for i in lost[:50])
    members: dict[str, Any] = {}
    for member, ep in ha.members.items():
        try:
            rows = query(ep, f"SELECT id FROM bench.history WHERE id IN ({ids})")
            pos = query(ep, "SELECT @@gtid_binlog_pos, @@gtid_slave_pos, @@read_only")
            members[member] = {"has": [r[0] for r in rows], "gtid": [str(x) for x in pos[0]]}
        except Exception as err:
            members[member] = {"error": str(err)}
    ops = [
        {**o.__dict__, "since_fault_s": round(o.end - fault_at, 3)}
        for o in writer.ops
        if abs(o.end - fault_at) < 5
    ]
    body = {"lost": lost, "members": members, "ops_around_fault": ops}
    (out / "lost.json").write_text(json.dumps(body, indent=1, default=str))


def run(*, quick: bool = False) -> Report:
    report = Report("chaos")
    rounds: list[Round] = []
    with ha_cluster("chaos") as ha:
        rig = diskfull.DiskRig(ha)
        faults = all_faults(rig)
        names = list(QUICK) if quick else list(faults)
        if os.environ.get("CHAOS_ROUNDS"):  # e.g. CHAOS_ROUNDS=kill-primary,kill-primary
            names = os.environ["CHAOS_ROUNDS"].split(",")
        monitor = ha.monitor()
        writer = ha.writer(1)
        known_lost: set[int] = set()
        try:
            time.sleep(2)
            for name in names:
                r = one_round(ha, name, faults[name], monitor, writer, known_lost)
                rounds.append(r)
                print(f"  {name}: {r.did}; {_verdict(r)}", flush=True)
                if not r.ok:
                    kept = ha.keep(RESULTS / "chaos-failed", name)
                    r.note += f"; state kept in {kept}"
                    if r.heal_s is None:
                        break  # the next fault would hit a broken cluster: stop here
        finally:
            writer.stop()
            monitor.stop()
            rig.close()
    for r in rounds:
        report.add(
            Metric(
                f"{r.name}: time to heal",
                r.heal_s,
                "s",
                goal="heals, 0 lost, 0 split",
                met=None if r.skipped else r.ok,
                note=f"{r.did}; {_verdict(r)}; {r.note}",
            )
        )
    report.add(
        Metric(
            "acknowledged writes lost (all rounds)",
            sum(max(r.lost, 0) for r in rounds),
            goal="0",
            met=all(r.lost == 0 for r in rounds),
        )
    )
    report.add(
        Metric(
            "moments with 2 writable primaries",
            sum(r.split for r in rounds),
            goal="0",
            met=all(r.split == 0 for r in rounds),
        )
    )
    report.details = {"rounds": [r.__dict__ for r in rounds]}
    return report

"""The chaos suite: rounds of faults under a recorded writer, each checked.

One 3-member cluster, one writer through the rw Service for the whole run, a
read_only monitor on every member. Each round injects a fault, waits until
all members are healthy again (time to heal), then checks the history so far
against the table read back through the rw Service: acknowledged writes lost
(must be 0) and moments with two writable primaries (must be 0). A round that
fails keeps the pods' logs, the daemon's log, events and topology under
bench/results/chaos-failed/<round>/.

    .venv/bin/python bench/run.py chaos [--quick]

Not covered yet: faults during rollouts, a member's disk filling up (needs a
small tmpfs or loop device under a volume).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.chaos.faults import FAULTS
from bench.chaos.history import PrimaryMonitor, Writer, check
from bench.ha import HA, ha_cluster, stale_rw, wait_for_ids
from bench.harness import RESULTS, Metric, Report
from bench.mysqlkit import query

QUICK = ("kill-primary", "kill-daemon", "kill-all")


@dataclass
class Round:
    name: str
    did: str
    heal_s: float | None
    lost: int
    split: int
    note: str

    @property
    def ok(self) -> bool:
        return self.heal_s is not None and self.lost == 0 and self.split == 0


def one_round(ha: HA, name: str, monitor: PrimaryMonitor, writer: Writer) -> Round:
    ha.wait_healthy(180)
    time.sleep(2)
    seen_split = len(monitor.split_brain)
    start = time.monotonic()
    try:
        did = FAULTS[name](ha)
    except Exception as err:
        return Round(name, f"fault failed: {err}", None, 0, 0, "")
    heal: float | None
    try:
        time.sleep(1)
        ha.wait_healthy(240)
        heal = time.monotonic() - start
    except TimeoutError:
        heal = None
    stale = stale_rw(ha.rw)
    # The writer keeps going: only writes acknowledged before the read can be judged.
    history = list(writer.ops)
    try:
        present = wait_for_ids(ha.rw, 60)
        verdict = check(history, present)
        lost, note = len(verdict.lost), verdict.summary()
        if stale:
            note += f"; once healthy, the rw Service first answered from {stale}"
        if verdict.lost:
            note += f"; lost ids {verdict.lost[:10]}"
            record_loss(ha, name, start, writer, verdict.lost)
    except TimeoutError as err:
        lost, note = -1, f"could not read the table back: {err}"
    return Round(name, did, heal, lost, len(monitor.split_brain) - seen_split, note)


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
    names = list(QUICK) if quick else list(FAULTS)
    if os.environ.get("CHAOS_ROUNDS"):  # e.g. CHAOS_ROUNDS=kill-primary,kill-primary
        names = os.environ["CHAOS_ROUNDS"].split(",")
    rounds: list[Round] = []
    with ha_cluster("chaos") as ha:
        monitor = ha.monitor()
        writer = ha.writer(1)
        time.sleep(2)
        for name in names:
            r = one_round(ha, name, monitor, writer)
            rounds.append(r)
            heal = "did not heal" if r.heal_s is None else f"healed in {r.heal_s:.1f} s"
            print(f"  {name}: {r.did}; {heal}; lost {r.lost}; two primaries {r.split}")
            if not r.ok:
                kept = ha.keep(RESULTS / "chaos-failed", name)
                r.note += f"; state kept in {kept}"
                if r.heal_s is None:
                    break  # the next fault would hit a broken cluster: stop here
        writer.stop()
        monitor.stop()
    for r in rounds:
        report.add(
            Metric(
                f"{r.name}: time to heal",
                r.heal_s,
                "s",
                goal="heals, 0 lost, 0 split",
                met=r.ok,
                note=f"{r.did}; lost {r.lost}; split {r.split}; {r.note}",
            )
        )
    report.add(
        Metric(
            "acknowledged writes lost (all rounds)",
            max((r.lost for r in rounds), default=0),
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

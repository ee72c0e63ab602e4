"""Benchmarks 2 and 3: unplanned failover under a writer through the rw Service.

kill -9 (benchmark 2): SIGKILL of the primary's mariadbd (its host pid, found
from the node's container records), N times. RTO = from the last acknowledged
write before the kill to the first one after it. Goals: median <= 2 s,
max <= 5 s, no acknowledged write lost, never two writable primaries.

hung (benchmark 3, `bench/hung.py`): SIGSTOP instead; goal RTO <= 8 s. After
the failover the stopped process gets SIGCONT (if petset's fencing left it
alive) so that a primary coming back from the dead is caught by the monitor.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field

from bench.chaos.history import Writer, unavailability
from bench.ha import HA, ha_cluster
from bench.harness import RESULTS, Metric, Report, alive, median, wait_for
from bench.mysqlkit import kill_pid, mariadbd_pid


@dataclass
class Runs:
    rto: list[float] = field(default_factory=list)
    promote: list[float] = field(default_factory=list)
    heal: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def one_fault(ha: HA, writer: Writer, sig: int, runs: Runs, label: str) -> bool:
    """Inject one fault on the primary and measure; False when the cluster did not recover."""
    ha.wait_healthy(180)
    time.sleep(1.5)
    old = ha.primary()
    assert old is not None
    pid = mariadbd_pid(ha.d, old)
    if pid is None:
        runs.failures.append(f"{label}: no mariadbd pid found for {old}")
        return False
    fault_at = time.monotonic()
    kill_pid(pid, sig)
    try:
        runs.promote.append(ha.wait_new_primary(old, 60))
        wait_for(
            "a write acknowledged after the fault",
            lambda: any(o.outcome == "ok" and o.end > fault_at for o in writer.ops),
            30,
        )
    except TimeoutError as err:
        runs.failures.append(f"{label}: {err}; kept {ha.keep(RESULTS / 'failed', label)}")
        return False
    finally:
        if sig == signal.SIGSTOP and alive(pid):
            kill_pid(pid, signal.SIGCONT)
    time.sleep(1.5)  # writes flowing again: the window closes after a few more
    rto = unavailability(writer.ops, fault_at, time.monotonic())
    if rto is not None:
        runs.rto.append(rto)
    try:
        ha.wait_healthy(180)
        runs.heal.append(time.monotonic() - fault_at)
    except TimeoutError as err:
        runs.failures.append(f"{label}: {err} (old primary did not rejoin)")
        ha.keep(RESULTS / "failed", label)
        return False
    print(f"  {label}: {old} -> {ha.primary()}, RTO {rto if rto is None else round(rto, 2)} s")
    return True


def measure(name: str, sig: int, n: int, goals: list[tuple[str, str, float]]) -> Report:
    report = Report(name)
    runs = Runs()
    with ha_cluster(name) as ha:
        monitor = ha.monitor()
        writer = ha.writer(1)
        time.sleep(2)
        for i in range(n):
            if not one_fault(ha, writer, sig, runs, f"{name}-{i + 1}"):
                break
        writer.stop()
        split = monitor.stop()
        try:
            _, lost, summary = ha.verify(writer)
        except TimeoutError as err:
            lost, summary = -1, f"could not read the table back: {err}"
    report.add(
        Metric(
            "runs completed",
            len(runs.rto),
            goal=f"{n}",
            met=len(runs.rto) == n,
            note="; ".join(runs.failures),
        )
    )
    if runs.rto:
        stats = {"median": median(runs.rto), "max": max(runs.rto)}
        for label, goal, limit in goals:
            value = stats[label]
            report.add(Metric(f"RTO {label}", value, "s", goal=goal, met=value <= limit))
        report.add(Metric("time to a new primary (median)", median(runs.promote), "s"))
    report.add(Metric("acknowledged writes lost", lost, goal="0", met=lost == 0, note=summary))
    report.add(
        Metric(
            "moments with 2 writable primaries",
            len(split),
            goal="0",
            met=not split,
            note=f"{monitor.samples} polls",
        )
    )
    report.details = {
        "rto_s": runs.rto,
        "promote_s": runs.promote,
        "failures": runs.failures,
        "split_brain": split,
        "kept": str(RESULTS / "failed"),
    }
    return report


def run(*, quick: bool = False) -> Report:
    goals = [("median", "<= 2 s", 2.0), ("max", "<= 5 s", 5.0)]
    return measure("failover", signal.SIGKILL, 3 if quick else 20, goals)

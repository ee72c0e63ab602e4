"""Benchmark 4: planned switchover (`petset mysql switchover mysql`) under a writer.

Write unavailability = the longest stretch without an acknowledged write from
the command's start to 3 s after it returned. Goal <= 1 s; never two writable
primaries; no acknowledged write lost.
"""

from __future__ import annotations

import time

from bench.chaos.history import longest_gap
from bench.ha import ha_cluster
from bench.harness import Metric, Report, median


def run(*, quick: bool = False) -> Report:
    report = Report("switchover")
    n = 3 if quick else 10
    gaps: list[float] = []
    durations: list[float] = []
    with ha_cluster("switchover") as ha:
        monitor = ha.monitor()
        writer = ha.writer(1)
        time.sleep(2)
        for i in range(n):
            ha.wait_healthy()
            time.sleep(1)
            old = ha.primary()
            t0 = time.monotonic()
            ha.d.petset("mysql", "switchover", "mysql", timeout=90)
            t1 = time.monotonic()
            time.sleep(3)
            gap = longest_gap(writer.ops, t0, time.monotonic())
            gaps.append(gap)
            durations.append(t1 - t0)
            print(
                f"  switchover {i + 1}/{n}: {old} -> {ha.primary()}, "
                f"writes paused {gap:.2f} s, command {t1 - t0:.2f} s"
            )
        writer.stop()
        split = monitor.stop()
        _acked, lost, summary = ha.verify(writer)
    report.add(
        Metric(
            "write unavailability (median)", median(gaps), "s", goal="<= 1 s", met=median(gaps) <= 1
        )
    )
    report.add(
        Metric("write unavailability (max)", max(gaps), "s", goal="<= 1 s", met=max(gaps) <= 1)
    )
    report.add(Metric("switchover command (median)", median(durations), "s"))
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
    report.details = {"gaps_s": gaps, "command_s": durations, "split_brain": split}
    return report

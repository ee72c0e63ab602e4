"""petset's benchmarks and chaos suite: one entry point.

    .venv/bin/python bench/run.py [--quick] all|bringup|proxy|control|switchover|failover|hung|clone
    .venv/bin/python bench/run.py [--quick] chaos

Every benchmark prints a table (metric, measured, baseline, ratio, goal, met)
and writes bench/results/<name>.json. Baselines run on this machine in the same
run, interleaved A-B-B-A, because these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Metric, Report

# Order matters for `all`: failover-dependent benchmarks last (they lean on the engine most).
BENCHMARKS = {
    "proxy": "bench.service",
    "control": "bench.control",
    "bringup": "bench.bringup",
    "switchover": "bench.switchover",
    "failover": "bench.failover",
    "hung": "bench.hung",
    "clone": "bench.clone",
    "chaos": "bench.chaos.suite",
}


def run_one(name: str, quick: bool) -> Report:
    module = importlib.import_module(BENCHMARKS[name])
    started = time.monotonic()
    try:
        report: Report = module.run(quick=quick)
    except Exception as err:  # a benchmark that breaks still reports, as not met
        traceback.print_exc()
        report = Report(name)
        report.add(Metric("benchmark ran", None, goal="completes", met=False, note=repr(err)))
    report.details["quick"] = quick
    report.details["seconds"] = round(time.monotonic() - started, 1)
    print(report.table())
    print(f"   -> {report.save()}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("which", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (minutes)")
    args = parser.parse_args()
    names = [n for n in BENCHMARKS if n != "chaos"] if args.which == "all" else [args.which]
    reports = [run_one(n, args.quick) for n in names]
    failed = [m.name for r in reports for m in r.metrics if m.met is False]
    if failed:
        print(f"goals not met: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

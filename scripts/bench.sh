#!/usr/bin/env bash
# Benchmarks and chaos suite (bench/run.py): prints tables, writes bench/results/<name>.json.
#   scripts/bench.sh              every benchmark, full repetitions (about an hour)
#   scripts/bench.sh quick        every benchmark, few repetitions (about 15 minutes)
#   scripts/bench.sh chaos        the chaos suite: kills, SIGSTOP, corruption, kills during
#                                 rollouts, a full disk (8-13 minutes; --quick: 4 rounds, ~2 min)
#   CHAOS_ROUNDS=a,b scripts/bench.sh chaos   chosen rounds (names in bench/chaos/suite.py)
#   scripts/bench.sh NAME [--quick]   one of: bringup proxy control switchover failover hung clone
set -uo pipefail
cd "$(dirname "$0")/.."
case "${1:-all}" in
  quick) exec .venv/bin/python bench/run.py --quick all ;;
  *) exec .venv/bin/python bench/run.py "${@:-all}" ;;
esac

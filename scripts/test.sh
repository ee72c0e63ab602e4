#!/usr/bin/env bash
# The whole test suite: lint, types, unit tests, acceptance tests with real processes.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
echo "== ruff"; .venv/bin/ruff check . || status=1
echo "== mypy --strict"; .venv/bin/mypy || status=1
echo "== pytest"
# Acceptance tests mostly wait on real processes: run test files side by side
# (a file's module-scoped daemon stays on one worker). The suites that run whole
# MySQL clusters through the daemon go last, two at a time: on 2 cores, four of
# them at once starve each other's failover timings (likewise the StatefulSet
# ordering tests). PETSET_TEST_WORKERS=1 runs
# everything serially. pytest's exit 5 ("no tests ran") is a failure here.
workers=${PETSET_TEST_WORKERS:-4}
heavy=(tests/acceptance/mysql/test_cluster.py tests/acceptance/mysql/test_lifecycle.py
  tests/acceptance/mysql_backup/test_daemon_backup.py tests/acceptance/chaos
  tests/acceptance/statefulset tests/acceptance/examples)
deselect=()
for h in "${heavy[@]}"; do deselect+=(--ignore "$h"); done
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider --durations=20 --dist loadfile)
echo "== pytest: everything else ($workers at a time)"
"${pytest[@]}" -n "$workers" "${deselect[@]}" "$@" || status=1
echo "== pytest: the MySQL cluster and StatefulSet suites (2 at a time)"
"${pytest[@]}" -n "$(( workers < 2 ? workers : 2 ))" "${heavy[@]}" "$@" || status=1
exit $status

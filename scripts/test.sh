#!/usr/bin/env bash
# The whole test suite: lint, types, unit tests, acceptance tests with real processes.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
echo "== ruff"; .venv/bin/ruff check . || status=1
echo "== mypy --strict"; .venv/bin/mypy || status=1
echo "== pytest"
# Acceptance tests mostly wait on real processes: run test files side by side
# (a file's module-scoped daemon stays on one worker). PETSET_TEST_WORKERS=1 runs serially.
workers=${PETSET_TEST_WORKERS:-4}
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 -n "$workers" --dist loadfile "$@"
rc=$?
# pytest's 5 means "no tests ran": a failure here, never a pass.
if [ $rc -ne 0 ]; then status=1; fi
exit $status

#!/usr/bin/env bash
# The whole test suite: lint, types, unit tests, acceptance tests with real processes.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
echo "== ruff"; .venv/bin/ruff check . || status=1
echo "== mypy --strict"; .venv/bin/mypy || status=1
echo "== pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
rc=$?
# pytest's 5 means "no tests ran": a failure here, never a pass.
if [ $rc -ne 0 ]; then status=1; fi
exit $status

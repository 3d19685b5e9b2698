#!/usr/bin/env bash
# Run every check: lint, formatting, import layering, types and the test suite
# (creates or refreshes ./.venv first). Extra arguments go to pytest, e.g. ./test.sh -k lenet
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure_venv.sh
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export PYTHONDONTWRITEBYTECODE=1
echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check --quiet .
echo "== import-linter"; .venv/bin/lint-imports
echo "== mypy"; scripts/typecheck.sh
echo "== pytest"
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"

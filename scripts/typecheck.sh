#!/usr/bin/env bash
# Type-check the package with mypy (configured in pyproject.toml, [tool.mypy]).
# Run from anywhere; exits non-zero when mypy finds an error.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/mypy --config-file pyproject.toml "$@"

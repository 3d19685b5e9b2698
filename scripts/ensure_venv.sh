#!/usr/bin/env bash
# Create or refresh ./.venv so that it matches pyproject.toml and constraints.txt.
# Quick when nothing changed: a stamp holds the hash of the inputs of the last good install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.dlstudio-stamp
want=$(cat pyproject.toml constraints.txt scripts/ensure_venv.sh | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "Setting up .venv (first run or dependencies changed; this takes a few minutes)..." >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >&2
# torch first, from the pin, so nothing later pulls a CUDA build.
.venv/bin/python -m pip install --quiet -c constraints.txt "torch" >&2
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,hf,extras]" >&2
# Test-only reference models. The torchvision build that pairs with torch 2.13 is a CUDA one whose
# compiled ops do not load against CPU torch; its pure-Python model definitions are all the tests
# use (see tests/torchvision_shim.py), so it is installed without pulling another torch.
.venv/bin/python -m pip install --quiet --no-deps "torchvision==0.28.0" >&2
echo "$want" > "$stamp"

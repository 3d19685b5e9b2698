#!/usr/bin/env bash
# Create or refresh ./.venv so that it matches pyproject.toml and constraints.txt.
# Quick when nothing changed: a stamp holds the hash of the inputs of the last good install.
# pip's own chatter (build-backend notices, index warnings) goes to .venv/setup.log and is shown
# only when a step fails, so a good first run prints one line.
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
log=.venv/setup.log
: > "$log"
step() {
  if ! "$@" >> "$log" 2>&1; then
    echo "Set-up failed at: $*" >&2
    echo "--- last lines of $log ---" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
step .venv/bin/python -m pip install --quiet --upgrade pip
# torch first, from the pin, so nothing later pulls a CUDA build.
step .venv/bin/python -m pip install --quiet -c constraints.txt "torch"
step .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,hf,extras]"
# The torchvision build that pairs with torch 2.13 is a CUDA one whose compiled ops do not load
# against CPU torch; its pure-Python model definitions are all DL Studio and the tests use (the
# importer and tests/torchvision_shim.py load them without the compiled ops), so it is installed
# without pulling another torch.
step .venv/bin/python -m pip install --quiet --no-deps "torchvision==0.28.0"
echo "$want" > "$stamp"
echo "Set-up done (pip's log: $log)." >&2

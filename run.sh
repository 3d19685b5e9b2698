#!/usr/bin/env bash
# Launch DL Studio (creates or refreshes ./.venv first). Extra arguments go to main.py,
# e.g. ./run.sh templates/resnet18.json
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure_venv.sh
exec .venv/bin/python main.py "$@"

#!/usr/bin/env bash
# Install and run the tests: lint, types, and pytest (with the real task-master-ai CLI as an oracle).
set -euo pipefail
source "$(dirname "$0")/setup_env.sh" "[test,ray]"
bash scripts/install_oracles.sh
export TASK_MASTER_AI_BIN="$ROOT/.cache/task-master-ai/node_modules/.bin/task-master"
ruff check .
ruff format --check .
mypy
exec pytest "$@"

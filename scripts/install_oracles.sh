#!/usr/bin/env bash
# Tools the tests compare against or build with: task-master-ai 0.43.1 (npm, cached), Go (apt), and the
# OS sandbox of model-chosen commands: bubblewrap (ours and Claude Code's) and socat (Claude Code's, Linux).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TM="$ROOT/.cache/task-master-ai"
if [ ! -x "$TM/node_modules/.bin/task-master" ]; then
  mkdir -p "$TM"
  (cd "$TM" && { [ -f package.json ] || npm init -y >/dev/null; } \
     && npm install --no-audit --no-fund --loglevel=error task-master-ai@0.43.1 >/dev/null)
fi
if ! command -v go >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null) \
    || echo "warning: could not install Go; Go stack tests will be skipped" >&2
fi
if ! { command -v bwrap && command -v socat; } >/dev/null 2>&1 && [ "$(id -u)" = "0" ] \
    && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap socat >/dev/null) \
    || echo "warning: could not install bubblewrap/socat; sandboxed commands will be refused" >&2
fi

#!/usr/bin/env bash
# Install and run the main job: the offline demo (or real Claude once ANTHROPIC_API_KEY is set).
set -euo pipefail
source "$(dirname "$0")/setup_env.sh" ""
exec claude-orchestrator demo "$@"

#!/usr/bin/env bash
# Runs a script (benchmark, chaos run, tool) with the pinned Node against the local stack, which it
# starts first if needed:  with-stack.sh test/bench/pipeline.ts [arguments…]
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_DIR"
script=${1:?usage: with-stack.sh <script.ts> [arguments]}
shift
bash deploy/local/bootstrap.sh
PATH="$(deploy/local/node.sh):$PATH"
export PATH
bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env)"
exec node "$script" "$@"

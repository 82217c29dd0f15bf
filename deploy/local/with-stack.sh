#!/usr/bin/env bash
# Runs a script (benchmark, chaos run, tool) with the pinned Node against the local stack, which it
# starts first if needed:  with-stack.sh test/bench/pipeline.ts [arguments…]
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
cd "$REPO_DIR"
script=${1:?usage: with-stack.sh <script.ts> [arguments]}
shift
prepared_machine
bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env)"
exec node "$script" "$@"

#!/usr/bin/env bash
# `npm run bench:<name>`: runs test/bench/<name>.ts against the local stack (started if needed).
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_DIR"
name=${1:?usage: bench.sh <name>}
bash deploy/local/bootstrap.sh
PATH="$(deploy/local/node.sh):$PATH"
export PATH
bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env)"
exec node "test/bench/$name.ts"

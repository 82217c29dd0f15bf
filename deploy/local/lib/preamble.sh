# shellcheck shell=bash
# The opening of every script of deploy/local (and .ci/run), sourced first, not run:
#   strict mode; REPO_DIR, the repository's root, and HERE, its deploy/local folder (both absolute);
#   pinned_node       puts the pinned Node's bin folder (node.sh) first on PATH, exported
#   prepared_machine  bootstrap.sh (packages, pinned Node, npm install), then pinned_node
# A script beside stack.sh opens with:  . "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$HERE/../.." && pwd)

pinned_node() {
  local bin
  bin=$("$HERE/node.sh") || return 1
  PATH=$bin:$PATH
  export PATH
}

prepared_machine() { bash "$HERE/bootstrap.sh" && pinned_node; }

